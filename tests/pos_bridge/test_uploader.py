"""The uploader against the stand-in BackOffice (through httpx.WSGITransport) with a hand-moved clock."""

from __future__ import annotations

import itertools
import json
import logging
import random
import stat
from datetime import date, datetime, timedelta

import httpx
import pytest

from exporters.core import Rejected
from pos_bridge import dkl1
from pos_bridge.register_sim import sell_day
from pos_bridge.spool import Spool
from pos_bridge.uploader import DeviceToken, Uploader, enroll, load_token, save_token
from tests.pos_bridge.backoffice_standin import StandInBackOffice


@pytest.fixture
def standin():
    return StandInBackOffice(codes=("ENROLL-1",))


@pytest.fixture
def client(standin):
    with httpx.Client(transport=httpx.WSGITransport(app=standin), base_url="http://backoffice") as client:
        yield client


@pytest.fixture
def spool(spool_path, clock):
    spool = Spool(spool_path, clock)
    yield spool
    spool.close()


def spool_days(spool, shop, days: int = 1, seed: int = 3, session: str = "s1"):
    hello = {"v": 1, "seq": 1, **shop.hello(session)}
    spool.store_message(session, hello)
    identity = dkl1.Identity.from_hello(hello)
    seq = 1
    for offset in range(days):
        z_report = sell_day(shop, date(2026, 11, 20) + timedelta(days=offset), 30, random.Random(seed))[-1]
        seq += 1
        spool.store_message(
            session, {"v": 1, "seq": seq, **z_report}, lambda m: dkl1.z_report_json(identity, m)
        )


@pytest.fixture
def uploader(client, spool, tmp_path, clock):
    return Uploader(
        client,
        spool,
        tmp_path / "token",
        tmp_path / "status.json",
        alert_after=timedelta(minutes=120),
        clock=clock,
        rng=random.Random(1),
    )


@pytest.fixture
def enrolled(client, tmp_path):
    return enroll(client, "ENROLL-1", "Kassa 1", "CU-0001-2345", tmp_path / "token")


def test_enrollment_keeps_the_token_readable_by_the_bridge_only(client, tmp_path, standin):
    token = enroll(client, "ENROLL-1", "Kassa 1", "CU-0001-2345", tmp_path / "var" / "token")
    assert stat.S_IMODE((tmp_path / "var" / "token").stat().st_mode) == 0o600
    assert load_token(tmp_path / "var" / "token") == token
    assert token.device_token in standin.tokens
    with pytest.raises(Rejected, match="enrollment refused \\(403\\)"):
        enroll(client, "ENROLL-1", "Kassa 1", "CU-0001-2345", tmp_path / "other")


def test_a_token_file_open_to_others_is_closed_again(tmp_path):
    save_token(tmp_path / "token", DeviceToken("t", "Kassa 1"))
    (tmp_path / "token").chmod(0o644)
    assert load_token(tmp_path / "token") == DeviceToken("t", "Kassa 1")
    assert stat.S_IMODE((tmp_path / "token").stat().st_mode) == 0o600


def test_a_report_is_sent_once_with_its_idempotency_key(uploader, spool, shop, standin, enrolled):
    spool_days(spool, shop)
    tried = uploader.run_once()
    assert spool.z_report(tried.id).state == "sent"
    assert standin.posts == [("Kassa 1", 1)] and standin.created == 1
    assert standin.reports["Kassa 1", 1]["report"] == tried.body
    assert uploader.run_once() is None
    assert standin.posts == [("Kassa 1", 1)]


def test_a_report_sent_again_is_answered_200_and_booked_once(
    uploader, spool, spool_path, shop, standin, enrolled
):
    spool_days(spool, shop)
    [z] = spool.z_reports()
    uploader.run_once()
    # As after a crash between the BackOffice's answer and marking it sent: the row is pending again.
    spool.db.execute("UPDATE z_reports SET state = 'pending' WHERE id = ?", (z.id,))
    uploader.run_once()
    assert spool.z_report(z.id).state == "sent"
    assert len(standin.posts) == 2 and standin.created == 1
    assert spool.db.execute("SELECT server_status FROM z_reports").fetchone()[0] == 200


def test_backoffice_down_for_a_day_then_back(
    uploader, spool, shop, standin, enrolled, clock, tmp_path, caplog
):
    spool_days(spool, shop, days=2)
    standin.down = True
    caplog.set_level(logging.INFO, logger="pos_bridge.uploader")
    start = clock()
    waits = []
    for _minute in range(24 * 60):
        tried = uploader.run_once()
        if tried is not None:
            row = spool.db.execute(
                "SELECT next_attempt_at FROM z_reports WHERE id = ?", (tried.id,)
            ).fetchone()
            waits.append(row[0])
        status = json.loads((tmp_path / "status.json").read_text())
        age = clock() - start
        assert (status["alert"] is not None) == (age > timedelta(minutes=120)), age
        clock.advance(minutes=1)
    assert standin.posts == [] and spool.count_by_state() == {"pending": 2}
    assert status["backoffice"] == "down" and status["oldest_unsent"]["z_number"] == 1
    assert "has waited 1439 minutes" in status["alert"] and "503" in status["alert"]
    # Doubling waits up to the cap: about a hundred tries in a day, never more than 15 minutes apart.
    assert 90 <= len(waits) <= 200
    times = [datetime.fromisoformat(value) for value in waits]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert max(gaps) <= timedelta(minutes=16)
    alerts = [record.message for record in caplog.records if record.message.startswith("ALERT")]
    assert len(alerts) == 1 and "Z-report 1 has waited 121 minutes" in alerts[0]
    standin.down = False
    clock.advance(minutes=15)
    uploader.run_once()
    uploader.run_once()
    assert spool.count_by_state() == {"sent": 2}
    assert standin.posts == [("Kassa 1", 1), ("Kassa 1", 2)] and standin.created == 2
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["alert"] is None and status["backoffice"] == "up"
    assert any(r.message.startswith("alert over") for r in caplog.records)


def test_an_unreachable_backoffice_is_retried(spool, shop, tmp_path, clock, enrolled):
    with httpx.Client(base_url="http://127.0.0.1:9", timeout=1) as closed:
        uploader = Uploader(closed, spool, tmp_path / "token", tmp_path / "s.json", timedelta(hours=2), clock)
        spool_days(spool, shop)
        uploader.run_once()
    [z] = spool.z_reports()
    assert z.state == "pending" and z.attempts == 1
    assert "unreachable" in spool.db.execute("SELECT last_error FROM z_reports").fetchone()[0]
    assert uploader.status()["backoffice"] == "down"


def test_reports_wait_behind_the_oldest_so_they_arrive_in_order(
    uploader, spool, shop, standin, enrolled, clock
):
    spool_days(spool, shop, days=3)
    standin.down = True
    uploader.run_once()
    standin.down = False
    assert uploader.run_once() is None  # the oldest is backing off and the others wait behind it
    clock.advance(minutes=1)
    for _ in range(3):
        uploader.run_once()
    assert [number for _, number in standin.posts] == [1, 2, 3]


def test_same_number_other_content_is_a_conflict_kept_for_review(uploader, spool, shop, standin, enrolled):
    spool_days(spool, shop, days=1, seed=3)
    shop.next_z = 1
    spool_days(spool, shop, days=1, seed=4, session="s2")  # the register closed day 1 again, differently
    uploader.run_once()
    uploader.run_once()
    assert [z.state for z in spool.z_reports()] == ["sent", "conflict"]
    assert standin.created == 1 and len(standin.conflicts) == 1
    attention = uploader.status()["needs_attention"]
    assert attention == [{"z_number": 1, "state": "conflict", "errors": attention[0]["errors"]}]


def test_a_report_the_backoffice_refuses_is_kept_as_rejected(client, spool, shop, standin, tmp_path, clock):
    enroll(client, "ENROLL-1", "Kassa 9", "CU-9", tmp_path / "token")  # enrolled as another register
    uploader = Uploader(client, spool, tmp_path / "token", tmp_path / "s.json", timedelta(hours=2), clock)
    spool_days(spool, shop)
    uploader.run_once()
    [z] = spool.z_reports()
    assert z.state == "rejected" and z.errors[0]["field"] == "Idempotency-Key"
    assert z.body is not None  # the report itself is kept


def test_a_refused_token_keeps_the_report_and_says_enroll_again(
    uploader, spool, shop, tmp_path, standin, clock, client
):
    save_token(tmp_path / "token", DeviceToken("revoked", "Kassa 1"))
    spool_days(spool, shop)
    for _ in range(10):
        uploader.run_once()
        clock.advance(minutes=1)
    assert spool.z_reports()[0].state == "pending" and spool.z_reports()[0].attempts == 10
    assert "enroll again" in uploader.status()["last_error"]
    assert standin.posts == []
    enroll(client, "ENROLL-1", "Kassa 1", "CU-0001-2345", tmp_path / "token")
    uploader.run_once()  # tries stay a minute apart, so the new token is used within a minute
    assert standin.posts == [("Kassa 1", 1)]


def test_not_enrolled_keeps_everything_and_sends_once_enrolled(
    uploader, spool, shop, client, tmp_path, standin
):
    spool_days(spool, shop)
    for _ in range(5):
        uploader.run_once()
    status = uploader.status()
    assert status["enrolled"] is False and "not enrolled" in status["last_error"]
    assert status["z_reports"]["pending"] == 1
    enroll(client, "ENROLL-1", "Kassa 1", "CU-0001-2345", tmp_path / "token")
    uploader.run_once()  # at once: waiting for the enrollment is not a failed attempt
    assert standin.posts == [("Kassa 1", 1)]


def test_backoff_doubles_with_jitter_up_to_the_cap(uploader):
    waits = [uploader.backoff(attempt) for attempt in range(12)]
    for attempt, wait in enumerate(waits):
        ceiling = min(timedelta(minutes=15), timedelta(seconds=5 * 2**attempt))
        assert ceiling / 2 <= wait <= ceiling
    assert len({wait.total_seconds() for wait in waits[8:]}) == 4  # jittered, not in lockstep
