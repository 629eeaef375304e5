"""The end-to-end fixtures of the actions tests: the real engine on loopback and a fake Wawp."""

from __future__ import annotations

from tests.actions.conftest import engine, fake

__all__ = ["engine", "fake"]
