"""/projects/[project_id]/metrics: the figures of the project's tool calls over a time range,
every one from ``tool_calls.tool_call_metrics`` (the service behind the REST metrics route)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlencode

import reflex as rx

from mcp_orch_app.services import servers, tool_calls
from mcp_orch_app.services.schemas import ToolCallMetricsOut, ToolUsageOut
from mcp_orch_app.ui.format import duration
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import Choice, ErrorCodeRow, ToolUsageRow
from mcp_orch_app.ui.states.time_range import TimeRangeMixin

TOP_TOOLS = 10
# How calls that failed without an error code (the tool said isError) are listed.
TOOL_ERROR = "tool error (no code)"
# A figure of a range without calls (a rate or an average of nothing).
NO_VALUE = "n/a"


def _percent(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f} %" if whole else NO_VALUE


def _tool_row(usage: ToolUsageOut) -> ToolUsageRow:
    failed = usage.error + usage.timeout
    return ToolUsageRow(
        tool=usage.tool_name,
        server_name=usage.server_name,
        total=usage.total,
        failed=failed,
        success_rate=_percent(usage.success, usage.total),
        avg=duration(usage.avg_ms),
        calls_query=urlencode({"tool": usage.tool_name}),
    )


def bucket_width(seconds: int) -> str:
    """A timeline bucket's width in words: ``1 minute``, ``5 minutes``, ``1 hour``, ``3 days``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _bucket_label(metrics: ToolCallMetricsOut) -> Callable[[datetime], str]:
    """How the chart writes a bucket's start (UTC): its day, or its time (and day when the
    range spans more than one)."""
    if metrics.bucket_seconds >= 86400:
        pattern = "%b %d"
    elif metrics.until - metrics.since > timedelta(days=1):
        pattern = "%b %d %H:%M"
    else:
        pattern = "%H:%M"
    return lambda start: start.strftime(pattern)


ALL_SERVERS = "all"


class MetricsState(TimeRangeMixin, ProjectFrameState):
    loading: bool = True
    problem: str = ""
    fetching: bool = False
    total: int = 0
    success: int = 0
    failed: int = 0
    cancelled: int = 0
    # Percent (0..100) for the gauge.
    success_percent: float = 0.0
    success_rate: str = NO_VALUE
    avg: str = NO_VALUE
    p95: str = NO_VALUE
    bucket: str = ""
    # The chart's points: label (bucket start, UTC) and the calls of each status.
    timeline: list[dict[str, str | int]] = []
    top_tools: list[ToolUsageRow] = []
    failing_tools: list[ToolUsageRow] = []
    error_codes: list[ErrorCodeRow] = []
    # The server the figures are of ("all": the whole project), from ``?server=`` too.
    server_id: str = ALL_SERVERS
    servers: list[Choice] = []

    @rx.var
    def has_calls(self) -> bool:
        return self.total > 0

    @rx.var
    def gauge(self) -> list[dict]:
        return [{"name": "success", "value": self.success_percent, "fill": "var(--green-9)"}]

    def _show(self, m: ToolCallMetricsOut) -> None:
        self.total, self.success, self.cancelled = m.total, m.success, m.cancelled
        self.failed = m.error + m.timeout
        self.success_percent = round((m.success_rate or 0) * 100, 1)
        self.success_rate = _percent(m.success, m.total)
        self.avg = duration(m.avg_ms) or NO_VALUE
        self.p95 = duration(m.p95_ms) or NO_VALUE
        self.bucket = bucket_width(m.bucket_seconds)
        label = _bucket_label(m)
        self.timeline = [
            {
                "label": label(b.start),
                "success": b.success,
                "error": b.error,
                "timeout": b.timeout,
                "cancelled": b.total - b.success - b.error - b.timeout,
            }
            for b in m.timeline
        ]
        self.top_tools = [_tool_row(t) for t in m.by_tool[:TOP_TOOLS]]
        failing = sorted(
            (t for t in m.by_tool if t.error + t.timeout),
            key=lambda t: (-(t.error + t.timeout), t.server_name, t.tool_name),
        )
        self.failing_tools = [_tool_row(t) for t in failing[:TOP_TOOLS]]
        coded = [(e.error_code, e.count) for e in m.by_error_code]
        # A tool's own error (an isError result) carries no code; counted here as one.
        uncoded = m.error + m.timeout - sum(count for _, count in coded)
        if uncoded > 0:
            coded.append((TOOL_ERROR, uncoded))
        errors = sum(count for _, count in coded)
        self.error_codes = [
            ErrorCodeRow(error_code=code, count=count, share=_percent(count, errors))
            for code, count in sorted(coded, key=lambda pair: (-pair[1], pair[0]))
        ]

    async def _reload(self) -> None:
        since, until = self._range()
        server_id = None if self.server_id == ALL_SERVERS else self.server_id
        self._show(
            await self._call(
                tool_calls.tool_call_metrics,
                self.route_project_id(),
                since=since,
                until=until,
                server_id=server_id,
            )
        )

    async def _first_load(self) -> None:
        found = await self._call(servers.list_servers, self.route_project_id())
        self.servers = [Choice(value=str(s.id), label=s.name) for s in found]
        requested = self.router.url.query_parameters.get("server", ALL_SERVERS)
        known = {choice.value for choice in self.servers}
        self.server_id = requested if requested in known else ALL_SERVERS
        await self._reload()

    @rx.event
    async def load(self):
        self.total = 0
        self.timeline = []
        self._range_from_url()
        async for event in self._attempt("loading", self._first_load, error="problem"):
            yield event

    @rx.event
    async def set_server(self, server_id: str):
        known = {choice.value for choice in self.servers}
        self.server_id = server_id if server_id in known else ALL_SERVERS
        async for event in self._range_changed():
            yield event

    async def _range_changed(self):
        async for event in self._attempt("fetching", self._reload, error="range_problem"):
            yield event

    @rx.event
    async def refresh(self):
        async for event in self._range_changed():
            yield event
