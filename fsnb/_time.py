"""Points in time as users give them (datetimes, ISO strings, ``now``), normalised to aware UTC datetimes.

A naive datetime is taken to be UTC, everywhere in fsnb.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fsnb.errors import RequestError

__all__ = ["to_utc", "utc_naive"]


def to_utc(value: Any, *, what: str = "time") -> datetime:
    """``value`` (datetime, date, pandas Timestamp, ISO-8601 string or ``"now"``) as an aware UTC datetime."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "now":
            return datetime.now(UTC)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            raise RequestError(
                f"{what} {value!r} is not a time: give an ISO-8601 string such as 2024-01-31 or "
                "2024-01-31T12:00:00+00:00, a datetime, or 'now'"
            ) from None
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise RequestError(f"{what} must be a datetime, an ISO-8601 string or 'now', got {value!r}")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utc_naive(value: Any, *, what: str = "time") -> datetime:
    """``value`` (anything :func:`to_utc` takes) as a plain naive UTC datetime, as SQL ``TIMESTAMP`` columns hold.

    Always a ``datetime`` proper, also for a pandas Timestamp.
    """
    v = to_utc(value, what=what)
    return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)
