"""The time range of the tool-call pages: the last 15 minutes to 7 days (default: the last 30
minutes), or a custom from/until in UTC, turned into the ``since``/``until`` of the services.

:class:`TimeRangeMixin` gives a page state the range, its choice and the custom form; the page
says what a new range means by defining ``_range_changed``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import reflex as rx

from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.ui.states.rows import Choice

DEFAULT_RANGE = "30m"
CUSTOM = "custom"
RELATIVE_RANGES = {
    "15m": ("Last 15 minutes", timedelta(minutes=15)),
    "30m": ("Last 30 minutes", timedelta(minutes=30)),
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
}
RANGE_CHOICES = [
    *[Choice(value=key, label=label) for key, (label, _) in RELATIVE_RANGES.items()],
    Choice(value=CUSTOM, label="Custom range (UTC)"),
]
# What an <input type="datetime-local"> holds (seconds are optional there).
_LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def _parse_moment(text: str, label: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{label}: {text!r} is not a date and time.") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resolve_range(
    key: str, since_text: str = "", until_text: str = "", now: datetime | None = None
) -> tuple[datetime, datetime | None]:
    """``(since, until)`` of a range; ``until`` None means "up to now" (the range moves on)."""
    if key in RELATIVE_RANGES:
        return (now or datetime.now(UTC)) - RELATIVE_RANGES[key][1], None
    if key != CUSTOM:
        raise InvalidInput(f"Unknown time range {key!r}.")
    if not since_text.strip():
        raise InvalidInput("Choose when the custom range starts.")
    since = _parse_moment(since_text, "From")
    until = _parse_moment(until_text, "Until") if until_text.strip() else None
    if until is not None and since >= until:
        raise InvalidInput("The custom range must end after it starts.")
    return since, until


def local_input_value(moment: datetime) -> str:
    """``moment`` as a datetime-local input shows it (UTC, to the minute)."""
    return moment.astimezone(UTC).strftime(_LOCAL_INPUT)


class TimeRangeMixin(rx.State, mixin=True):
    range_key: str = DEFAULT_RANGE
    # The custom range as typed (datetime-local values, UTC); used while range_key is custom.
    custom_since: str = ""
    custom_until: str = ""
    range_problem: str = ""

    @rx.var
    def custom_range(self) -> bool:
        return self.range_key == CUSTOM

    def _range_from_url(self) -> None:
        """The range a page opens with: ``?range=1h`` (a relative one), else the default."""
        requested = self.router.url.query_parameters.get("range", "")
        self.range_key = requested if requested in RELATIVE_RANGES else DEFAULT_RANGE
        self.range_problem = ""

    def _range(self) -> tuple[datetime, datetime | None]:
        return resolve_range(self.range_key, self.custom_since, self.custom_until)

    def _range_changed(self) -> AsyncIterator[Any]:
        """Reload what the page shows for the new range (each page defines it)."""
        raise NotImplementedError

    @rx.event
    async def choose_range(self, key: str):
        if key not in RELATIVE_RANGES and key != CUSTOM:
            return
        self.range_problem = ""
        if key == CUSTOM:
            if self.range_key != CUSTOM:
                # Start from the range shown so far; it applies once the form is sent.
                since, until = self._range()
                self.custom_since = local_input_value(since)
                self.custom_until = local_input_value(until or datetime.now(UTC))
            self.range_key = key
            return
        self.range_key = key
        async for event in self._range_changed():
            yield event

    @rx.event
    async def apply_custom_range(self, form: dict):
        since_text = str(form.get("since", ""))[:40]
        until_text = str(form.get("until", ""))[:40]
        try:
            resolve_range(CUSTOM, since_text, until_text)
        except InvalidInput as exc:
            self.range_problem = exc.message
            return
        self.range_problem = ""
        self.range_key = CUSTOM
        self.custom_since, self.custom_until = since_text, until_text
        async for event in self._range_changed():
            yield event
