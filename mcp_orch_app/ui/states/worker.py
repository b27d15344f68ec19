"""/admin/worker: the background worker's status, schedule, "run now" and history.

Administrators only: every handler goes through mcp_orch_app/worker/control.py, whose services
refuse anyone else (a forced event changes nothing); the page shows the refusal. While open, the
page re-reads the status every few seconds (``poll``), which is also how it follows a run it
started: "Run now" begins the run and returns at once, the run goes on in the worker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import reflex as rx

from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.worker import (
    MAX_INTERVAL_SECONDS,
    MIN_INTERVAL_SECONDS,
    WorkerConfigIn,
    WorkerStatusOut,
)
from mcp_orch_app.ui.format import timestamp, until
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.rows import WorkerFailureRow, WorkerRunRow
from mcp_orch_app.worker import control

T = TypeVar("T")

HISTORY_ROWS = 20
POLL_MILLISECONDS = 3000


def _interval_seconds(typed: str) -> int:
    """The interval field (minutes) in seconds; refused in the field's own unit, minutes (the
    service's message speaks of the seconds its API takes)."""
    low, high = MIN_INTERVAL_SECONDS // 60, MAX_INTERVAL_SECONDS // 60
    message = f"The interval must be a number of minutes from {low} to {high}, for example 5."
    try:
        seconds = round(float(typed.strip()[:20]) * 60)
    except (ValueError, OverflowError):  # not a number, or nan / inf
        raise InvalidInput(message) from None
    if not MIN_INTERVAL_SECONDS <= seconds <= MAX_INTERVAL_SECONDS:
        raise InvalidInput(message)
    return seconds


def _minutes(seconds: int) -> str:
    minutes = seconds / 60
    return f"{minutes:g}"


class WorkerState(AuthState):
    loading: bool = True
    problem: str = ""
    running: bool = False
    interval_seconds: int = 0
    interval_minutes: str = ""
    next_run: str = ""
    next_run_at: str = ""
    concurrency: int = 0
    check_timeout_seconds: int = 0
    retention_days: int = 0
    run_in_progress: bool = False
    has_last_run: bool = False
    last_run: WorkerRunRow = WorkerRunRow()
    failures: list[WorkerFailureRow] = []
    more_failures: int = 0
    runs: list[WorkerRunRow] = []
    refreshing: bool = False
    switching: bool = False
    saving_interval: bool = False
    interval_error: str = ""
    starting_run: bool = False
    # The run this page started, announced when it finishes (0: none).
    _watched_run: int = 0

    async def _control(self, operation: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run one of control.py's operations for the logged-in actor."""
        return await operation(await self._actor(), *args)

    def _show_status(self, status: WorkerStatusOut) -> None:
        self.running = status.running
        self.interval_seconds = status.interval_seconds
        self.interval_minutes = _minutes(status.interval_seconds)
        self.next_run = until(status.next_run_at) if status.running else "paused"
        self.next_run_at = timestamp(status.next_run_at)
        self.concurrency = status.concurrency
        self.check_timeout_seconds = status.check_timeout_seconds
        self.retention_days = status.retention_days
        self.run_in_progress = status.run_in_progress
        last = status.last_run
        self.has_last_run = last is not None
        self.last_run = WorkerRunRow.of(last) if last is not None else WorkerRunRow()
        self.failures = [WorkerFailureRow.of(f) for f in last.failures] if last else []
        self.more_failures = last.more_failures if last else 0

    async def _reload(self):
        status = await self._control(control.worker_status)
        runs = await self._control(control.run_history, HISTORY_ROWS)
        self._show_status(status)
        self.runs = [WorkerRunRow.of(run) for run in runs]
        return self._announce_finished_run()

    def _announce_finished_run(self):
        if not self._watched_run or self.run_in_progress:
            return None
        finished = next((run for run in self.runs if run.id == self._watched_run), None)
        self._watched_run = 0
        if finished is None:
            return None
        summary = (
            f"Check run finished in {finished.duration}: {finished.checked} checked, "
            f"{finished.changed} changed, {finished.failed} failed."
        )
        if finished.status == "failed":
            return rx.toast.error(f"{summary} {finished.error}", close_button=True)
        return rx.toast.success(summary)

    @rx.event
    async def load(self):
        self.runs = []
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event

    @rx.event
    async def poll(self, _now: str = ""):
        """Re-read the status (every few seconds while the page is open)."""
        if self.loading or self.problem or self.refreshing:
            return
        async for event in self._attempt("refreshing", self._reload):
            yield event

    async def _switch(self, operation, done: str):
        async def switch():
            self._show_status(await self._control(operation))
            return rx.toast.success(done)

        async for event in self._attempt("switching", switch):
            yield event

    @rx.event
    async def start_schedule(self):
        async for event in self._switch(
            control.start_worker, "Scheduled checks are on: every enabled server is checked."
        ):
            yield event

    @rx.event
    async def stop_schedule(self):
        async for event in self._switch(
            control.stop_worker, "Scheduled checks are paused; Run now still works."
        ):
            yield event

    @rx.event
    async def save_interval(self, form: dict):
        async def save():
            seconds = _interval_seconds(str(form.get("interval_minutes", "")))
            status = await self._control(
                control.configure_worker, WorkerConfigIn(interval_seconds=seconds)
            )
            self._show_status(status)
            return rx.toast.success(
                f"The servers are checked every {_minutes(status.interval_seconds)} minutes."
            )

        async for event in self._attempt("saving_interval", save, error="interval_error"):
            yield event

    @rx.event
    async def run_now(self):
        async def begin():
            try:
                self._watched_run = await self._control(control.start_check)
            except control.NOT_RUNNING as exc:
                return rx.toast.error(str(exc), close_button=True)
            self.run_in_progress = True
            return rx.toast.info("Checking every enabled server now…")

        async for event in self._attempt("starting_run", begin):
            yield event
