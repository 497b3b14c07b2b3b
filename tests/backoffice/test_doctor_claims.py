"""``dagskassa doctor``'s day claims line: how many days each channel holds, by hand included; a channel
this version does not know fails (the full command's lines are tested in test_doctor.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from backoffice.operations.doctor import FAIL, OK, check_day_claims
from backoffice.services.day_claims import claim_days


def test_the_days_of_each_channel_are_counted(engine, world):
    first = check_day_claims(engine)
    assert (first.status, first.text) == (OK, "no day claimed yet")
    with Session(engine) as db:
        claim_days(db, world.store_a, [date(2026, 3, 14), date(2026, 3, 15)], "fortnox")
        claim_days(db, world.store_a, [date(2026, 3, 16)], "sie")
        claim_days(db, world.store_b, [date(2026, 3, 14)], "manual", "marked as booked by anna@example.se")
        db.commit()
    found = check_day_claims(engine)
    assert found.status == OK
    assert found.text == "4 days, each through one channel: Fortnox 2, a SIE file 1, booked by hand 1"


def test_an_unknown_channel_fails(engine, world):
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO day_claims (store_id, business_date, channel, claimed_at) "
                "VALUES (:store, '2026-03-14', 'carrier-pigeon', '2026-03-15')"
            ),
            {"store": world.store_a},
        )
    found = check_day_claims(engine)
    assert found.status == FAIL and "'carrier-pigeon' (1 days)" in found.text
