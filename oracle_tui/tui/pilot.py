"""Driving the app headless (tests, the screenshot script, benchmarks): wait until idle."""

from __future__ import annotations

from typing import Any


async def wait_idle(pilot: Any, rounds: int = 200) -> None:
    """Return once no worker runs and no job is pending (a job's follow-up may start another
    worker from its completion message, hence the loop)."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if getattr(pilot.app, "job_label", None) is None and \
                not getattr(pilot.app, "queued_jobs", 0):
            return
    raise AssertionError(f"the app never became idle: job {pilot.app.job_label!r} still "
                         f"pending after {rounds} rounds")
