"""Reading typed values out of expression literals: numbers, byte sizes, ratios, dates, relative dates.

Pure functions: "now" is always an argument. Each returns None when the text is not of that
type, so the parser can report the position and the compiler can pick a reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["parse_number", "parse_size", "parse_ratio", "DateValue", "parse_date", "months_before"]

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|k|kb|m|mb|g|gb)?$", re.IGNORECASE)
_RATIO = re.compile(r"^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RELATIVE = re.compile(r"^(\d{1,5})([hdwmy])$")
_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


def parse_number(text: str) -> float | None:
    return float(text) if _NUMBER.match(text) else None


def parse_size(text: str) -> float | None:
    """`1m`, `500kb`, `12` → bytes (units are powers of 1024, case-insensitive)."""
    match = _SIZE.match(text.strip())
    if not match:
        return parse_number(text)
    return float(match.group(1)) * _UNITS[(match.group(2) or "b").lower()]


def parse_ratio(text: str) -> float | None:
    """`1.5` or `16:9` → width / height."""
    match = _RATIO.match(text)
    if match:
        height = float(match.group(2))
        return float(match.group(1)) / height if height else None
    return parse_number(text)


@dataclass(frozen=True)
class DateValue:
    """A point in time, and whether the literal named a whole day (then `=` means that day)."""

    start: datetime  # UTC
    whole_day: bool = False
    relative: bool = False  # written as `3d`, `2w`…: "the last N units" up to now

    @property
    def end(self) -> datetime:
        """Where the named span stops (exclusive): the next midnight for a day, else the instant."""
        return self.start + timedelta(days=1) if self.whole_day else self.start


def parse_date(text: str, now: datetime) -> DateValue | None:
    """`2024-01-31`, `2024-01-31T10:00:00Z`, `2024-01-31 10:00`, or relative `1d`/`2w`/`3m`/`1y`/`6h`."""
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        return DateValue(_before(now, int(relative.group(1)), relative.group(2)), relative=True)
    if _DAY.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return DateValue(datetime(day.year, day.month, day.day, tzinfo=UTC), whole_day=True)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return DateValue(moment.astimezone(UTC))


def _before(now: datetime, amount: int, unit: str) -> datetime:
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    now = now.astimezone(UTC)
    if unit == "h":
        return now - timedelta(hours=amount)
    if unit == "d":
        return now - timedelta(days=amount)
    if unit == "w":
        return now - timedelta(weeks=amount)
    return months_before(now, amount * (12 if unit == "y" else 1))


def months_before(moment: datetime, months: int) -> datetime:
    """The same day-of-month `months` earlier, clamped to the month's last day (Mar 31 - 1m = Feb 28/29)."""
    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    year = max(year, 1)
    day = moment.day
    while day > 28:
        try:
            return moment.replace(year=year, month=month + 1, day=day)
        except ValueError:
            day -= 1
    return moment.replace(year=year, month=month + 1, day=day)
