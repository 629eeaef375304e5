"""Public helpers for testing botengine and the rules you write for it.

make_event(...)        a valid Wawp event envelope from a few fields
serve_in_thread(app)   run an ASGI app on a loopback port for the length of a `with`
FakeWawp()             a fake Wawp API on loopback that records calls and fails on demand
eventually(condition)  wait for a condition with a deadline (eventually_async in a coroutine)

botengine.testing.engine.running_engine(...) runs a whole engine on loopback (imported from its
module, since it pulls in the whole engine).
"""

from __future__ import annotations

from botengine.sample_events import load_event, make_event
from botengine.testing.fake_wawp import Call, FakeWawp
from botengine.testing.server import serve_in_thread
from botengine.testing.waiting import eventually, eventually_async

__all__ = [
    "Call",
    "FakeWawp",
    "eventually",
    "eventually_async",
    "load_event",
    "make_event",
    "serve_in_thread",
]
