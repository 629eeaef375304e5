"""The web dashboard: what the bot did and why, and its rules edited, tested and rolled back in
the browser, for the people who run it (see views.py)."""

from __future__ import annotations

from botengine.dashboard.auth import DashboardAuth
from botengine.dashboard.timeline import Timeline
from botengine.dashboard.traces import TraceStore
from botengine.dashboard.ui import PREFIX
from botengine.dashboard.views import Dashboard

__all__ = ["PREFIX", "Dashboard", "DashboardAuth", "Timeline", "TraceStore"]
