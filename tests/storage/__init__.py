"""The storage interface, by role: every backend passes every contract module here.

test_queue, test_key_value, test_dead_letters, test_jobs and test_lifecycle mirror the roles of
botengine/storage/base.py and run on each of tests/conftest.py BACKENDS; test_redis and
test_journal cover what one backend adds.
"""
