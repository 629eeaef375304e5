"""Public helpers for testing botengine and the rules you write for it.

make_event(...)        a valid Wawp event envelope from a few fields
serve_in_thread(app)   run an ASGI app on a loopback port for the length of a `with`
FakeWawp()             a fake Wawp API on loopback that records calls and fails on demand

botengine.testing.engine.running_engine(...) runs a whole engine on loopback (imported from its
module, since it pulls in the whole engine).
"""

from __future__ import annotations

from botengine.sample_events import load_event, make_event
from botengine.testing.fake_wawp import Call, FakeWawp
from botengine.testing.server import serve_in_thread

__all__ = ["Call", "FakeWawp", "load_event", "make_event", "serve_in_thread"]
