"""Publication dates in the shapes real exports write them -> aware UTC datetimes.

Every reader passes its raw date value through :func:`parse_date`, so one place
decides what is a date and what is implausible (before 1800, or in the future).
"""

from __future__ import annotations

import email.utils
import math
import re
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone

EARLIEST = datetime(1800, 1, 1, tzinfo=timezone.utc)
# Epoch values above this are milliseconds, not seconds (1e11 s is the year 5138).
_MILLIS = 1e11
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
# "2015-08-08 06:30:06", "2015-08-08T06:30:06.123+03:00", "2015-08-08T06:30Z", "20150808"
_ISO_LOOSE = re.compile(
    r"^(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$",
    re.I,
)


def _plausible(value: datetime) -> datetime | None:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    if value < EARLIEST or value > datetime.now(timezone.utc) + timedelta(days=1):
        return None
    return value


def _from_epoch(seconds: float) -> datetime | None:
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    if seconds > _MILLIS:
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(0, timezone.utc) + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return None


def _from_iso(text: str) -> datetime | None:
    m = _ISO_LOOSE.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, zone = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if zone and zone.upper() not in ("Z", "UTC", "GMT"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        tz = timezone(sign * offset)
    try:
        return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro,
                        tzinfo=tz)
    except ValueError:
        return None


def parse_date(value: object) -> datetime | None:
    """A publication date as an aware UTC datetime, or ``None`` when there is none.

    Accepts ISO 8601 dates and datetimes (a naive one is taken as UTC),
    ``YYYY-MM-DD hh:mm:ss``, RFC 2822 (``Tue, 15 Nov 1994 08:12:31 GMT``), epoch
    seconds as numbers or numeric strings (milliseconds when above 1e11), and
    ``datetime``/``date`` objects. Dates before 1800-01-01 or more than a day in the
    future are implausible and give ``None``. Never raises.

    :param value: the raw value a record holds

    >>> parse_date("2015-08-08 06:30:06").isoformat()
    '2015-08-08T06:30:06+00:00'
    >>> parse_date(-62106825600.0) is None
    True
    """
    try:
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, datetime):
            return _plausible(value)
        if isinstance(value, date):
            return _plausible(datetime(value.year, value.month, value.day))
        if isinstance(value, (int, float)):
            parsed = _from_epoch(float(value))
            return _plausible(parsed) if parsed else None
        if not isinstance(value, str):
            return None
        text = value.strip()
        if not text or len(text) > 100:
            return None
        if _NUMBER.match(text) and not re.fullmatch(r"\d{8}", text):
            parsed = _from_epoch(float(text))
            return _plausible(parsed) if parsed else None
        parsed = _from_iso(text)
        if parsed is None:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                parsed = None
        if parsed is None:
            try:
                parsed = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError, OverflowError):
                parsed = None
        return _plausible(parsed) if parsed else None
    except (OverflowError, ValueError, TypeError):
        return None
