"""How times and names are written in the UI (computed on the backend when a page loads)."""

from __future__ import annotations

from datetime import UTC, datetime


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def timestamp(moment: datetime | None) -> str:
    """An absolute UTC time, for tooltips and tables: ``2026-03-01 14:05 UTC``."""
    if moment is None:
        return ""
    return _aware(moment).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def timestamp_seconds(moment: datetime | None) -> str:
    """An absolute UTC time to the second, for log entries: ``2026-03-01 14:05:09 UTC``."""
    if moment is None:
        return ""
    return _aware(moment).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(moment: datetime | None, *, never: str = "never", now: datetime | None = None) -> str:
    """A relative time: ``just now``, ``5 minutes ago``, ``3 days ago``; ``never`` for None."""
    if moment is None:
        return never
    seconds = int(((now or datetime.now(UTC)) - _aware(moment)).total_seconds())
    if seconds < 0:
        return "in the future"
    if seconds < 45:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "1 minute ago"


def until(moment: datetime | None, *, now: datetime | None = None) -> str:
    """A time to come: ``in 4 minutes``, ``in 2 hours``; ``due now`` once it has passed."""
    if moment is None:
        return ""
    seconds = int((_aware(moment) - (now or datetime.now(UTC))).total_seconds())
    if seconds <= 0:
        return "due now"
    if seconds < 60:
        return "in less than a minute"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count = seconds // size
        if count or unit == "minute":
            return f"in {count} {unit}{'s' if count != 1 else ''}"


def duration(milliseconds: int | float | None) -> str:
    """How long something took: ``850 ms``, ``4.2 s``, ``3 min 5 s``; empty when unknown."""
    if milliseconds is None:
        return ""
    if milliseconds < 1000:
        return f"{milliseconds:.0f} ms"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def counted(count: int, noun: str) -> str:
    """``1 project``, ``3 projects``: a count with its noun (plural with an s)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def transport_label(transport: str) -> str:
    return {"stdio": "stdio", "sse": "SSE", "streamable_http": "Streamable HTTP"}.get(
        transport, transport
    )


# What a User-Agent contains, and the name shown for it; the first match wins.
_BROWSERS = (
    ("edg/", "Edge"),
    ("firefox/", "Firefox"),
    ("chrome/", "Chrome"),
    ("chromium", "Chromium"),
    ("safari/", "Safari"),
    ("curl/", "curl"),
    ("python", "Python client"),
)
_SYSTEMS = (
    ("windows", "Windows"),
    ("mac os", "macOS"),
    ("android", "Android"),
    ("iphone", "iOS"),
    ("linux", "Linux"),
)


def _first_match(text: str, names: tuple[tuple[str, str], ...], default: str) -> str:
    return next((name for key, name in names if key in text), default)


def user_agent_label(user_agent: str | None) -> str:
    """A short name for a browser or client from its User-Agent, for the sessions list."""
    if not user_agent:
        return "Unknown client"
    ua = user_agent.lower()
    browser = _first_match(ua, _BROWSERS, "Browser")
    system = _first_match(ua, _SYSTEMS, "")
    return f"{browser} on {system}" if system else browser
