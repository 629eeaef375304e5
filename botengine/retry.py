"""Retry policies: how long to wait before the next attempt of a failed action.

Written in YAML globally (engine default), per rule or per action:

    retry: {policy: exponential, retries: 5, delay: 5s, max_delay: 10m, jitter: true}

The default is the one Wawp's overview describes for its own webhooks: 5 retries, exponential
from 5 s (5, 10, 20, 40, 80 s).
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from botengine.durations import Duration


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Literal["constant", "linear", "exponential"] = "exponential"
    retries: int = Field(5, ge=0, le=100, description="attempts after the first; 0 = never retry")
    delay: Duration = Field(5.0, description="wait before the first retry")
    max_delay: Duration = Field(3600.0, description="no wait is longer than this")
    jitter: bool = Field(True, description="spread waits by ±20% so retries do not arrive in bursts")

    def wait_before(self, retry: int, hint: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1-based); a server's Retry-After wins."""
        if self.policy == "constant":
            wait = self.delay
        elif self.policy == "linear":
            wait = self.delay * retry
        else:
            wait = self.delay * 2 ** (retry - 1)
        wait = min(wait, self.max_delay)
        if self.jitter:
            wait *= random.uniform(0.8, 1.2)
        if hint is not None:
            wait = max(wait, min(hint, self.max_delay))
        return wait


DEFAULT_RETRY = RetryPolicy()
