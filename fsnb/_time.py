"""Points in time as users give them (datetimes, ISO strings, ``now``), normalised to aware UTC datetimes.

The one rule for event timestamps, everywhere in fsnb (Python API, ``fsnb push``, the server's JSON, training
sets): a datetime or timestamp column as is; ISO-8601 text; a date as its midnight; an **integer as seconds since
1970-01-01 UTC**. A naive datetime (or text without an offset) is taken to be UTC. Booleans, floats and text that
is not ISO-8601 are refused.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fsnb.errors import DataValidationError, RequestError

__all__ = ["timestamp_series", "to_utc", "utc_naive"]


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


def timestamp_series(values: Any, *, what: str = "timestamp column") -> Any:
    """A pandas Series of UTC timestamps from one of the module's accepted forms (JSON-born columns included).

    Raises :class:`~fsnb.errors.DataValidationError` naming ``what`` for anything else.
    """
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values)
    kind = series.dtype.kind
    try:
        if kind == "M":
            return pd.to_datetime(series, utc=True)
        if kind in "iu":
            return pd.to_datetime(series, unit="s", utc=True)
        if kind == "O":
            present = series.dropna()
            if all(isinstance(v, str) for v in present):
                return pd.to_datetime(series, utc=True, format="ISO8601")
            if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
                return pd.to_datetime(series.astype("Int64"), unit="s", utc=True)
    except (ValueError, TypeError, OverflowError) as e:
        raise DataValidationError(f"{what}: not timestamps ({e})") from None
    raise DataValidationError(
        f"{what} holds {series.dtype} values: give ISO-8601 text (e.g. 2024-01-31T12:00:00Z) or integer seconds "
        "since 1970-01-01 UTC"
    )
