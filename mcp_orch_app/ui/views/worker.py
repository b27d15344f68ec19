"""/admin/worker: the background worker's schedule, "run now", the last run and the history
(administrators only; anyone else sees the services' refusal)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    breadcrumbs,
    data_table,
    date_text,
    empty_state,
    error_callout,
    form_field,
    once_loaded,
    page_header,
    problem_page,
    section,
    status_badge,
    time_ago,
)
from mcp_orch_app.ui.dialogs import confirm_dialog
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.rows import WorkerFailureRow, WorkerRunRow
from mcp_orch_app.ui.states.worker import POLL_MILLISECONDS, WorkerState

RUN_STATUS_COLORS = {"success": "green", "failed": "red", "running": "blue"}


def _run_status(status) -> rx.Component:
    return rx.match(
        status,
        *[
            (name, rx.badge(name, color_scheme=color, variant="soft"))
            for name, color in RUN_STATUS_COLORS.items()
        ],
        rx.badge(status, color_scheme="gray"),
    )


def _schedule_badge() -> rx.Component:
    return rx.cond(
        WorkerState.running,
        rx.badge(rx.icon("play", size=12), "running", color_scheme="green", id="worker-state"),
        rx.badge(rx.icon("pause", size=12), "paused", color_scheme="gray", id="worker-state"),
    )


def _run_now_button() -> rx.Component:
    return rx.hstack(
        rx.cond(
            WorkerState.run_in_progress,
            rx.badge(
                rx.spinner(size="1"),
                "Checking servers…",
                color_scheme="blue",
                variant="soft",
                id="run-in-progress",
            ),
        ),
        rx.button(
            rx.icon("refresh-cw", size=16),
            "Run now",
            on_click=WorkerState.run_now,
            loading=WorkerState.starting_run,
            id="run-now",
        ),
        align="center",
        spacing="3",
    )


def _stat(label: str, value, detail=None, **props) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color_scheme="gray"),
            rx.text(value, size="5", weight="bold"),
            detail if detail is not None else rx.fragment(),
            spacing="1",
        ),
        size="2",
        **props,
    )


def _stats() -> rx.Component:
    last = WorkerState.last_run
    return rx.grid(
        _stat(
            "Schedule",
            rx.cond(
                WorkerState.running, "Every " + WorkerState.interval_minutes + " min", "Paused"
            ),
            id="worker-schedule",
        ),
        _stat(
            "Next run",
            rx.tooltip(rx.text(WorkerState.next_run), content=WorkerState.next_run_at),
            id="worker-next-run",
        ),
        _stat(
            "Last run",
            rx.cond(WorkerState.has_last_run, last.started, "never"),
            rx.cond(WorkerState.has_last_run, _run_status(last.status)),
            id="worker-last-run",
        ),
        _stat(
            "Last run checked",
            rx.cond(WorkerState.has_last_run, last.checked, 0),
            rx.cond(
                WorkerState.has_last_run,
                rx.text(
                    last.changed.to(str) + " changed, " + last.failed.to(str) + " failed",
                    size="1",
                    color_scheme="gray",
                ),
            ),
            id="worker-last-checked",
        ),
        columns=rx.breakpoints(initial="1", sm="2", md="4"),
        spacing="3",
        width="100%",
    )


def _stop_button() -> rx.Component:
    return confirm_dialog(
        rx.button(
            rx.icon("pause", size=16),
            "Stop",
            variant="soft",
            color_scheme="red",
            loading=WorkerState.switching,
            id="worker-stop",
        ),
        "Stop the scheduled checks?",
        "Server statuses are no longer refreshed on their own until the worker is started "
        "again. A run in progress finishes; Run now keeps working.",
        "Stop checks",
        WorkerState.stop_schedule,
    )


def _schedule() -> rx.Component:
    return section(
        "Schedule",
        rx.form(
            rx.flex(
                form_field(
                    "Check every (minutes)",
                    rx.input(
                        name="interval_minutes",
                        default_value=WorkerState.interval_minutes,
                        key=WorkerState.interval_minutes,
                        # No min/max: the browser would block the form without saying the
                        # rule; the services' message does.
                        type="number",
                        step="any",
                        width="160px",
                        id="interval-minutes",
                    ),
                    "From 1 to 60 minutes.",
                ),
                rx.button(
                    "Save interval",
                    type="submit",
                    variant="soft",
                    loading=WorkerState.saving_interval,
                    id="save-interval",
                ),
                align="center",
                spacing="4",
                wrap="wrap",
            ),
            on_submit=WorkerState.save_interval,
            reset_on_submit=False,
            width="100%",
        ),
        error_callout(WorkerState.interval_error),
        rx.text(
            "Each run checks every enabled server of every project, up to ",
            rx.text.strong(WorkerState.concurrency),
            " at a time, each for at most ",
            rx.text.strong(WorkerState.check_timeout_seconds),
            " s (or the server's own timeout when shorter). Tool-call and server logs older than ",
            rx.text.strong(WorkerState.retention_days),
            " days are deleted every hour.",
            size="2",
            color_scheme="gray",
        ),
        icon="calendar-clock",
        actions=rx.cond(
            WorkerState.running,
            _stop_button(),
            rx.button(
                rx.icon("play", size=16),
                "Start",
                on_click=WorkerState.start_schedule,
                loading=WorkerState.switching,
                id="worker-start",
            ),
        ),
    )


def _failure_row(failure: WorkerFailureRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(failure.server_name, href="/projects/" + failure.project_id, weight="medium")
        ),
        rx.table.cell(status_badge(failure.status)),
        rx.table.cell(rx.text(failure.error, size="1", color_scheme="gray")),
        align="center",
    )


def _last_run() -> rx.Component:
    last = WorkerState.last_run
    return section(
        "Last run",
        rx.cond(
            WorkerState.has_last_run,
            rx.vstack(
                rx.hstack(
                    _run_status(last.status),
                    time_ago(last.started, last.started_at),
                    rx.text("took " + last.duration, size="2", color_scheme="gray"),
                    align="center",
                    spacing="3",
                    wrap="wrap",
                ),
                rx.cond(
                    last.error != "",
                    rx.callout(last.error, icon="circle-alert", color_scheme="red", size="1"),
                ),
                rx.cond(
                    WorkerState.failures.length() > 0,
                    rx.vstack(
                        data_table(
                            ["Server", "Status", "Why"],
                            rx.foreach(WorkerState.failures, _failure_row),
                            id="last-run-failures",
                        ),
                        rx.cond(
                            WorkerState.more_failures > 0,
                            rx.text(
                                "… and " + WorkerState.more_failures.to(str) + " more.",
                                size="1",
                                color_scheme="gray",
                            ),
                        ),
                        spacing="2",
                        width="100%",
                    ),
                    rx.text("Every checked server answered.", size="2", color_scheme="gray"),
                ),
                spacing="3",
                width="100%",
            ),
            empty_state(
                "activity",
                "No run yet",
                "The first scheduled run starts shortly after the app starts; Run now checks "
                "every server at once.",
            ),
        ),
        icon="stethoscope",
    )


def _run_row(run: WorkerRunRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(time_ago(run.started, run.started_at)),
        rx.table.cell(date_text(run.trigger)),
        rx.table.cell(
            rx.cond(
                run.error != "",
                rx.tooltip(rx.box(_run_status(run.status), cursor="help"), content=run.error),
                _run_status(run.status),
            )
        ),
        rx.table.cell(run.duration),
        rx.table.cell(run.checked),
        rx.table.cell(run.changed),
        rx.table.cell(rx.text(run.failed, color=rx.cond(run.failed > 0, rx.color("red", 11), ""))),
        align="center",
    )


def _history() -> rx.Component:
    return section(
        "History",
        rx.cond(
            WorkerState.runs.length() > 0,
            data_table(
                ["Started", "Trigger", "Status", "Duration", "Checked", "Changed", "Failed"],
                rx.foreach(WorkerState.runs, _run_row),
                id="worker-history",
            ),
            rx.text("No runs recorded yet.", size="2", color_scheme="gray"),
        ),
        icon="history",
    )


def _content() -> rx.Component:
    return rx.vstack(
        # Re-reads the status every few seconds while the page is open.
        rx.moment(interval=POLL_MILLISECONDS, on_change=WorkerState.poll, display="none"),
        _stats(),
        _schedule(),
        _last_run(),
        _history(),
        spacing="4",
        width="100%",
    )


def _loaded():
    return ~WorkerState.loading & (WorkerState.problem == "")


@protected
def worker_page() -> rx.Component:
    return rx.box(
        breadcrumbs(("Administration", "/admin"), ("Background worker", None)),
        page_header(
            "Background worker",
            "Scheduled health checks of every enabled server.",
            rx.cond(_loaded(), _run_now_button()),
            badge=rx.cond(_loaded(), _schedule_badge()),
        ),
        once_loaded(
            WorkerState.problem,
            problem_page(
                "Administrators only",
                WorkerState.problem,
                "Back to projects",
                "/projects",
                hint="Ask an administrator of this instance if you need something changed.",
            ),
            WorkerState.loading,
            "Loading the worker…",
            _content(),
        ),
    )
