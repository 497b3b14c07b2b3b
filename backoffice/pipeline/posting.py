"""The store's posting time: when a day becomes due for its accounting system.

No posting time (an empty one) means as soon as the day arrives: a store that wants each day in the books
at once, and the demo.

A day is posted the morning after, at the store's posting time (``SyncSettings.posting_time``, HH:MM on
the store's own clock, ``Store.timezone``), so the bookkeeper finds the night's days together and a late
correction at the register still makes it. The moment is kept on the export as ``next_attempt_at``, the
column the workers' claim already waits for; a day whose moment has passed is due at once. A person's
"send now" (and the other manual actions) move the export without it, so they are never held back.

Summer time: a posting time the clock skips (02:30 on the last Sunday of March in Stockholm) is the moment
an hour later on the new clock; one it passes twice (the last Sunday of October) is the first of the two.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def posting_moment(business_date: date, posting_time: str, timezone: str) -> datetime | None:
    """The moment (UTC) a day of ``business_date`` becomes due: the next day at ``posting_time`` in
    ``timezone``; None (due at once) without a posting time."""
    if not posting_time:
        return None
    hours, minutes = (int(part) for part in posting_time.split(":"))
    local = datetime.combine(business_date + timedelta(days=1), time(hours, minutes), ZoneInfo(timezone))
    return local.astimezone(UTC)
