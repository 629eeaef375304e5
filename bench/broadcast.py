"""Broadcast benchmark: how close a campaign comes to the send rate the operator set.

    .venv/bin/python bench/broadcast.py [--rate 1200] [--seconds 15]

Runs the whole engine in this process (fake Wawp on loopback, the embedded store) and starts a
campaign of the pacer's burst plus `--seconds` worth of people at `--rate` a minute, once with
no jitter and once with the default 0.2. The pacer lets a burst of ten seconds' worth go at once;
after it, the campaign should send at the rate, never above it. Printed per run: people, the
burst, the sends beyond the burst per second of the whole run (the pacer allows burst + rate × t
by time t), and that as a ratio to the configured rate (the baseline): 1.00 means the campaign
uses the whole budget, above 1.00 would break the limit.
"""

from __future__ import annotations

import argparse
import tempfile
import textwrap
import time
from pathlib import Path

from botengine import broadcasts
from botengine.audience import Person
from botengine.broadcasts import Campaign
from botengine.pacing import default_burst
from botengine.testing import FakeWawp
from botengine.testing.engine import running_engine


def one_run(rate: float, seconds: float, jitter: float) -> dict[str, float]:
    burst = default_burst(rate)
    people = [Person(f"4477{n:08d}@c.us", {"n": str(n)}) for n in range(burst + int(rate / 60 * seconds))]
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules"
        rules.mkdir()
        (rules / "r.yaml").write_text(textwrap.dedent("rules: []\n"))
        fake = FakeWawp()
        with (
            fake.serve() as url,
            running_engine(rules, Path(tmp) / "data", wawp_url=url, send_rate=rate) as bot,
        ):
            campaign = Campaign(
                id=f"bench{jitter}",
                name="bench",
                session="bench",
                text="Hi {{ person.n }}",
                total=len(people),
                jitter=jitter,
                folder=str(rules),
            )
            bot.call(lambda e: broadcasts.create(e.storage, campaign, people))
            deadline = time.monotonic() + seconds * 3 + 30
            while len(fake.calls_to("/v2/send/text")) < len(people) and time.monotonic() < deadline:
                time.sleep(0.2)
            calls = fake.calls_to("/v2/send/text")
    # the pacer allows `burst + rate × t` sends by time t after the first: what the campaign used
    # of the rate is what it sent beyond the burst, over the whole span
    span = calls[-1].at - calls[0].at
    per_s = (len(calls) - burst) / span
    return {
        "people": len(people),
        "sent": len(calls),
        "burst": burst,
        "per_s": per_s,
        "ratio": per_s / (rate / 60),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=1200.0, help="send rate, messages a minute")
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="seconds of paced sending after the burst"
    )
    args = parser.parse_args()
    print(f"send rate {args.rate:.0f}/min = {args.rate / 60:.1f}/s (the baseline); machine shared")
    print("jitter  people  sent  burst  beyond-burst/s  ratio to the rate")
    for jitter in (0.0, 0.2):
        found = one_run(args.rate, args.seconds, jitter)
        print(
            f"{jitter:6.1f}  {found['people']:6.0f}  {found['sent']:4.0f}  {found['burst']:5.0f}"
            f"  {found['per_s']:14.2f}  {found['ratio']:.2f}"
        )


if __name__ == "__main__":
    main()
