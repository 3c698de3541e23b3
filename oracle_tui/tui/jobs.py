"""Long actions as jobs: one at a time, in a thread worker, with a progress bar, a cancel
event of their own handed to the core, and a typed message for their result.

A job's body returns a :class:`JobResult` subclass (the seal planned, the view built, ...);
the runner posts it after a :class:`JobFinished` (summary and equivalent CLI command), or
posts :class:`JobFailed` / :class:`JobCancelled` instead. Nothing else crosses threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Label, ProgressBar

from oracle_tui.core.errors import OracleError
from oracle_tui.core.progress import Cancelled, Progress

if TYPE_CHECKING:
    from oracle_tui.core.diff import DiffReport
    from oracle_tui.core.overview import PackOverview
    from oracle_tui.core.report import CheckReport
    from oracle_tui.core.requests import SealRequest
    from oracle_tui.core.seal import SealPlan, SealResult
    from oracle_tui.core.tombstone import TombstoneResult
    from oracle_tui.core.views.build import BuildResult
    from oracle_tui.core.views.documents import ViewState


# -- messages ---------------------------------------------------------------------------------

class JobProgress(Message):
    def __init__(self, label: str, done: int, total: int) -> None:
        super().__init__()
        self.label, self.done, self.total = label, done, total


class JobFinished(Message):
    """A job ended well; ``cli`` is the equivalent command line ("" for none)."""

    def __init__(self, label: str, summary: str, cli: str) -> None:
        super().__init__()
        self.label, self.summary, self.cli = label, summary, cli


class JobFailed(Message):
    """Shown on an ErrorScreen, which masks secrets in what it shows."""

    def __init__(self, label: str, code: str, message: str, cli: str = "") -> None:
        super().__init__()
        self.label, self.code, self.message, self.cli = label, code, message, cli


class JobCancelled(Message):
    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label


class JobResult(Message):
    """What a job produced; ``summary`` is the toast ("" for none)."""

    summary = ""


class OverviewReady(JobResult):
    def __init__(self, overview: PackOverview) -> None:
        super().__init__()
        self.overview = overview


class DiffDone(JobResult):
    """A diff finished; ``rows_of``: it compared that one output's rows, for the pane to
    merge into the diff it shows."""

    def __init__(self, report: DiffReport, rows_of: str | None = None) -> None:
        super().__init__()
        self.report, self.summary, self.rows_of = report, report.summary, rows_of


class CheckDone(JobResult):
    def __init__(self, report: CheckReport, summary: str = "") -> None:
        super().__init__()
        self.report, self.summary = report, summary


class SealPlanned(JobResult):
    def __init__(self, plan: SealPlan, request: SealRequest) -> None:
        super().__init__()
        self.plan, self.request = plan, request


class SealDone(JobResult):
    def __init__(self, result: SealResult) -> None:
        super().__init__()
        self.result = result
        self.summary = f"{result.status} {result.oracle_pack_id[:16]}…"


class ViewBuilt(JobResult):
    def __init__(self, result: BuildResult) -> None:
        super().__init__()
        self.result = result
        receipt = result.receipt
        self.summary = (f"{result.status}: {receipt['view']['row_count']:,} rows in "
                        f"{len(receipt['parts'])} part(s)")


class ViewVerified(JobResult):
    def __init__(self, state: ViewState) -> None:
        super().__init__()
        self.state = state
        self.summary = f"{state.output_id}: {state.state}"


class Tombstoned(JobResult):
    def __init__(self, result: TombstoneResult) -> None:
        super().__init__()
        self.result = result
        self.summary = result.status


# -- jobs -------------------------------------------------------------------------------------

Body = Callable[[Progress, threading.Event], JobResult]


@dataclass
class Job:
    """One long action: its label, its body (given progress and this job's cancel event)
    and the equivalent CLI command shown in the log and on failure."""

    label: str
    body: Body
    cli: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)


def run(app: App[None], job: Job) -> None:
    """Run ``job`` in a thread worker; results come back as messages to ``app``."""
    app.run_worker(lambda: _body(app, job), thread=True, exclusive=True, group="job",
                   exit_on_error=False, name=job.label)


def _body(app: App[None], job: Job) -> None:
    last = [0.0, -1.0]  # when, and how far, the bar was last told

    def progress(done: int, total: int) -> None:
        # Coalesce, but never drop a step of 1% or more: a burst of tiny updates becomes
        # ~10 a second, while a jump (a phase done) shows at once, not at the next update.
        now = time.monotonic()
        if done >= total or now - last[0] > 0.1 or (done - last[1]) * 100 >= total:
            last[0], last[1] = now, done
            app.post_message(JobProgress(job.label, done, total))

    try:
        result = job.body(progress, job.cancel)
    except Cancelled:
        app.post_message(JobCancelled(job.label))
    except OracleError as exc:
        app.post_message(JobFailed(job.label, exc.code, exc.message, job.cli))
    except Exception as exc:
        app.post_message(JobFailed(job.label, "INTERNAL_ERROR",
                                   f"{type(exc).__name__}: {exc}", job.cli))
    else:
        app.post_message(JobFinished(job.label, result.summary, job.cli))
        app.post_message(result)


class JobBar(Horizontal):
    """The running job's label and progress (a real percentage once the job reports one);
    hidden when no job runs."""

    def compose(self) -> ComposeResult:
        yield Label("", id="job-label")
        yield ProgressBar(id="job-progress", show_eta=False)

    def on_mount(self) -> None:
        self.display = False

    def start(self, label: str) -> None:
        self.display = True
        self.query_one("#job-label", Label).update(f"{label}…  (esc cancels)")
        self.query_one("#job-progress", ProgressBar).update(total=None, progress=0)

    def show_progress(self, done: int, total: int) -> None:
        self.query_one("#job-progress", ProgressBar).update(total=max(total, 1), progress=done)

    def stop(self) -> None:
        self.display = False
