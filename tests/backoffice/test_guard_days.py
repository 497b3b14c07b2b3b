"""Holes in the double-booking guard (DESIGN.md section 7, layer 1), on SQLite and PostgreSQL:

- a day marked as already booked by hand is claimed for ``manual``: the SIE export and the pipeline
  refuse it, saying who marked it and when; a day an API claimed before its first send keeps that claim;
- a day the API claimed but never booked may go as a SIE file instead, only when that is provably safe
  (no voucher in the books, no send whose outcome is unknown, no other export of the day posted or
  under way); the export ends in ``sie_instead`` and its alert resolves once.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.db import make_sessionmaker
from backoffice.models import Alert, AuditEntry, Export, Store, User
from backoffice.notify.models import NotificationEvent
from backoffice.pipeline import states
from backoffice.pipeline.exporting import ExportRuntime, attempt
from backoffice.pipeline.fence import ExportFence
from backoffice.services.day_claims import DayClaim, claim_days, claimed_days
from backoffice.services.ingest import ingest
from backoffice.services.registers import authenticate
from exporters.sie import read_sie
from tests.backoffice.factories import Unreachable, csrf_token, enrolled_token, sign_in, z_report
from tests.backoffice.fortnox_world import send_days

D1, D2 = date(2026, 3, 14), date(2026, 3, 15)


def _attempt(engine, export_id: int) -> tuple[str, int]:
    opened = Unreachable()
    runtime = ExportRuntime(open_session=opened, now=lambda: datetime.now(UTC), fence=ExportFence(engine))
    return attempt(make_sessionmaker(engine), export_id, runtime, "w1"), opened.calls


def _export(engine, day: date, register: str = "Kassa 1") -> Export:
    with Session(engine) as db:
        for export in db.scalars(select(Export).where(Export.business_date == day)):
            if export.z_report.register.register_key == register:
                return export
    raise AssertionError(f"no export of {day} from {register}")


def _act(client, world, export: Export, action: str):
    page = client.get(f"/stores/{world.store_a}/exports/{export.z_report_id}").get_data(as_text=True)
    return client.post(
        f"/stores/{world.store_a}/exports/{export.z_report_id}/{action}",
        data={"csrf_token": csrf_token(page)},
    )


def _moves(engine, export_id: int, *path: str, **fields) -> None:
    """Move the export along ``path`` as the pipeline records it (each move in the audit log)."""
    with Session(engine) as db:
        export = db.get(Export, export_id)
        for state in path:
            states.move(db, export, state, now=datetime.now(UTC), **fields)
        db.commit()


def _actions(engine, action: str) -> list[AuditEntry]:
    with Session(engine) as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# -- marked as already booked ------------------------------------------------------------------------


def test_a_day_marked_booked_is_claimed_and_refused_by_the_sie_export_and_the_pipeline(client, engine, world):
    send_days(engine, world.store_a, world.manager_a, range(1, 3))  # D1 and D2
    sign_in(client, world.manager_a)
    assert _act(client, world, _export(engine, D1), "mark_booked").status_code == 302
    with Session(engine) as db:
        claim = db.scalars(select(DayClaim)).one()
        assert (claim.business_date, claim.channel) == (D1, "manual")
        assert claim.detail == f"marked as booked by {world.manager_a}"
    (entry,) = _actions(engine, "export.marked_booked")
    assert (entry.actor, entry.details["day_claimed_by"]) == (world.manager_a, "manual")
    assert _export(engine, D1).state == states.POSTED

    page = client.get(f"/stores/{world.store_a}/exports/{_export(engine, D1).z_report_id}")
    assert 'id="day-claim"' in page.get_data(as_text=True)
    assert "bokförd för hand" in page.get_data(as_text=True)

    url = f"/stores/{world.store_a}/sie"
    sie_page = client.get(url).get_data(as_text=True)
    assert "marked as booked by manager@" in sie_page.split('id="booked-by-hand"')[1]
    refused = client.post(
        f"{url}/export", data={"csrf_token": csrf_token(sie_page), "start": "2026-03-14", "end": "2026-03-15"}
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert f"2026-03-14 (marked as booked by {world.manager_a} on " in text
    assert "booked by hand" in text
    with Session(engine) as db:
        assert claimed_days(db, world.store_a) == {D1: "manual"}  # D2 not claimed for SIE either

    # The manager sends the day again by mistake: the pipeline refuses it, naming who marked it and when.
    assert _act(client, world, _export(engine, D1), "resend").status_code == 302
    state, opened = _attempt(engine, _export(engine, D1).id)
    assert (state, opened) == (states.NEEDS_ATTENTION, 0)
    export = _export(engine, D1)
    assert f"marked as booked by {world.manager_a} on " in export.error_message
    assert "nothing to send" in export.error_fix


def test_a_day_the_api_claimed_before_its_first_send_keeps_its_claim(client, engine, world):
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    export = _export(engine, D1)
    with Session(engine) as db:
        claim_days(db, world.store_a, [D1], "fortnox", f"export {export.id}")
        db.commit()
    _moves(engine, export.id, states.POSTING, states.UNCERTAIN)
    sign_in(client, world.manager_a)
    assert _act(client, world, export, "mark_booked").status_code == 302
    with Session(engine) as db:
        assert claimed_days(db, world.store_a) == {D1: "fortnox"}
    (entry,) = _actions(engine, "export.marked_booked")
    assert entry.details["day_claimed_by"] == "fortnox"


def test_a_day_being_sent_cannot_be_marked_booked(client, engine, world):
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    export = _export(engine, D1)
    _moves(engine, export.id, states.POSTING)
    sign_in(client, world.manager_a)
    response = _act(client, world, export, "mark_booked")
    assert response.status_code == 302
    assert "state posting" in client.get(response.location).get_data(as_text=True)
    assert _export(engine, D1).state == states.POSTING
    with Session(engine) as db:
        assert claimed_days(db, world.store_a) == {}


# -- book this day through a SIE file instead --------------------------------------------------------


def _claimed_and_refused(engine, world, *path: str) -> Export:
    """D1 claimed for Fortnox before its first send, then moved along ``path``."""
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    export = _export(engine, D1)
    with Session(engine) as db:
        claim_days(db, world.store_a, [D1], "fortnox", f"export {export.id}")
        db.commit()
    for state in path:
        message = "Fortnox refused: the account 3001 is inactive" if state == states.REJECTED else None
        _moves(engine, export.id, state, message=message)
    return _export(engine, D1)


def test_a_refused_day_goes_as_a_sie_file_instead(client, engine, world):
    # Sent without an answer, then looked up (nothing there), sent again and refused: provably not booked.
    export = _claimed_and_refused(
        engine, world, states.POSTING, states.UNCERTAIN, states.POSTING, states.REJECTED
    )
    with Session(engine) as db:
        (alert,) = db.scalars(select(Alert).where(Alert.kind == "export_rejected")).all()
    sign_in(client, world.manager_a)
    listing = client.get(f"/stores/{world.store_a}/exports/").get_data(as_text=True)
    assert "Bokför dagen med en SIE-fil i stället" in listing

    response = _act(client, world, export, "sie_instead")
    assert response.status_code == 302
    assert "Dagen bokförs med en SIE-fil" in client.get(response.location).get_data(as_text=True)
    assert _export(engine, D1).state == states.SIE_INSTEAD
    with Session(engine) as db:
        claim = db.scalars(select(DayClaim)).one()
        assert (
            claim.channel == "sie"
            and claim.detail == f"to a SIE file instead of fortnox, by {world.manager_a}"
        )
        assert db.get(Alert, alert.id).resolved_at is not None
        events = db.scalars(
            select(NotificationEvent.event).where(NotificationEvent.alert_id == alert.id)
        ).all()
        assert sorted(events) == ["opened", "resolved"]
    (day_entry,) = _actions(engine, "day.sie_instead")
    assert (day_entry.actor, day_entry.subject, day_entry.details["released"]) == (
        world.manager_a,
        "2026-03-14",
        "fortnox",
    )
    assert len(_actions(engine, "export.sie_instead")) == 1

    # The pipeline leaves it alone; the SIE export takes the day.
    assert _attempt(engine, export.id) == (states.SIE_INSTEAD, 0)
    url = f"/stores/{world.store_a}/sie"
    token = csrf_token(client.get(url).get_data(as_text=True))
    sie = client.post(f"{url}/export", data={"csrf_token": token, "start": "2026-03-14", "end": "2026-03-14"})
    assert sie.status_code == 200
    assert [v.date for v in read_sie(sie.data).vouchers] == [D1]
    # Asked twice (a second tab), nothing changes and nothing breaks; nor does it go back to the API.
    again = _act(client, world, export, "sie_instead")
    assert "sie_instead" in client.get(again.location).get_data(as_text=True)
    assert len(_actions(engine, "day.sie_instead")) == 1
    resent = _act(client, world, export, "resend")
    assert "state sie_instead" in client.get(resent.location).get_data(as_text=True)
    assert _export(engine, D1).state == states.SIE_INSTEAD


def test_a_day_handed_to_a_sie_file_does_not_move_the_integrations_start_date(client, engine, world):
    """The settings page asks for a start date after the days exported as SIE files, but not after a day
    the integration handed over: the days around it are still the integration's."""
    export = _claimed_and_refused(engine, world, states.POSTING, states.REJECTED)
    sign_in(client, world.manager_a)
    assert _act(client, world, export, "sie_instead").status_code == 302
    url = f"/stores/{world.store_a}/settings"
    token = csrf_token(client.get(url).get_data(as_text=True))
    saved = client.post(url, data={"csrf_token": token, "sync_sales": "on", "posting_time": "07:00"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with Session(engine) as db:
        claim_days(db, world.store_a, [D2], "sie", "a SIE file by anna")  # a day exported as a file
        db.commit()
    page = client.post(url, data={"csrf_token": token, "sync_sales": "on", "posting_time": "07:00"})
    assert "2026-03-16" in page.get_data(as_text=True)  # the start date asked for: after D2


def test_a_send_without_an_answer_not_looked_up_since_keeps_the_day(client, engine, world):
    export = _claimed_and_refused(engine, world, states.POSTING, states.UNCERTAIN, states.NEEDS_ATTENTION)
    sign_in(client, world.manager_a)
    response = _act(client, world, export, "sie_instead")
    assert "had no answer" in client.get(response.location).get_data(as_text=True)
    assert _export(engine, D1).state == states.NEEDS_ATTENTION
    with Session(engine) as db:
        assert claimed_days(db, world.store_a) == {D1: "fortnox"}
    assert _actions(engine, "day.sie_instead") == []


def test_a_day_never_sent_goes_as_a_sie_file_instead(client, engine, world):
    """Needing attention before any send (here: the voucher does not build), no claim yet."""
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    export = _export(engine, D1)
    _moves(engine, export.id, states.NEEDS_ATTENTION, message="needs mapping: swish")
    sign_in(client, world.manager_a)
    _act(client, world, export, "sie_instead")
    assert _export(engine, D1).state == states.SIE_INSTEAD
    with Session(engine) as db:
        assert claimed_days(db, world.store_a) == {D1: "sie"}
    (entry,) = _actions(engine, "day.sie_instead")
    assert entry.details["released"] is None


def _second_register_day(engine, world) -> Export:
    """Kassa 2's Z-report of D1 (the same day as Kassa 1's)."""
    with Session(engine) as db:
        store = db.get(Store, world.store_a)
        user = db.scalars(select(User).where(User.email == world.manager_a)).one()
        register = authenticate(db, enrolled_token(db, store, user, "Kassa 2"))
        body = z_report(1, register={"id": "Kassa 2", "control_unit_id": "CU-0001"})
        assert ingest(db, register, json.dumps(body).encode()).status == 201
        db.commit()
    return _export(engine, D1, "Kassa 2")


def test_a_day_with_another_register_posted_keeps_the_api(client, engine, world):
    export = _claimed_and_refused(engine, world, states.POSTING, states.REJECTED)
    other = _second_register_day(engine, world)
    _moves(engine, other.id, states.POSTING, states.POSTED)
    sign_in(client, world.manager_a)
    response = _act(client, world, export, "sie_instead")
    text = client.get(response.location).get_data(as_text=True)
    assert "Z 1 (Kassa 2)" in text and "in the books" in text
    assert _export(engine, D1).state == states.REJECTED
    with Session(engine) as db:
        assert claimed_days(db, world.store_a) == {D1: "fortnox"}


def test_every_waiting_export_of_the_day_goes_with_it(client, engine, world):
    """Kassa 2's day waits (sync was off): it goes to the SIE file too, or the pipeline would claim the
    day back for the API once it is sent."""
    export = _claimed_and_refused(engine, world, states.POSTING, states.REJECTED)
    other = _second_register_day(engine, world)
    _moves(engine, other.id, states.NEEDS_ATTENTION)
    sign_in(client, world.manager_a)
    _act(client, world, export, "sie_instead")
    assert _export(engine, D1, "Kassa 2").state == states.SIE_INSTEAD
    assert len(_actions(engine, "export.sie_instead")) == 2


def test_a_day_marked_booked_by_hand_needs_no_sie_file(client, engine, world):
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    export = _export(engine, D1)
    with Session(engine) as db:
        claim_days(db, world.store_a, [D1], "manual", "marked as booked by anna@example.se")
        db.commit()
    _moves(engine, export.id, states.NEEDS_ATTENTION)
    sign_in(client, world.manager_a)
    response = _act(client, world, export, "sie_instead")
    assert "in the books already (marked as booked by anna@example.se on " in client.get(
        response.location
    ).get_data(as_text=True)
    assert _export(engine, D1).state == states.NEEDS_ATTENTION


def test_a_corrected_day_keeps_the_api(client, engine, world):
    export = _claimed_and_refused(engine, world, states.POSTING, states.POSTED, states.READY, states.POSTING)
    with Session(engine) as db:
        db.get(Export, export.id).revision = 1
        db.commit()
    _moves(engine, export.id, states.REJECTED)
    sign_in(client, world.manager_a)
    response = _act(client, world, export, "sie_instead")
    assert "posted before" in client.get(response.location).get_data(as_text=True)
    assert _export(engine, D1).state == states.REJECTED


def test_sends_the_log_does_not_show_keep_the_day(client, engine, world):
    export = _claimed_and_refused(engine, world, states.NEEDS_ATTENTION)
    with Session(engine) as db:
        db.get(Export, export.id).attempts = 2  # counted, but no move to posting in the audit log
        db.commit()
    sign_in(client, world.manager_a)
    response = _act(client, world, export, "sie_instead")
    assert "had no answer" in client.get(response.location).get_data(as_text=True)
    assert _export(engine, D1).state == states.NEEDS_ATTENTION


def test_a_day_a_worker_is_sending_is_left_alone(client, engine, world):
    """PostgreSQL: a person's mark or hand-over waits for an attempt under way (its export fence); SQLite
    has one writer at a time."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the export fence is a PostgreSQL advisory lock across processes")
    export = _claimed_and_refused(engine, world, states.POSTING, states.REJECTED)
    sign_in(client, world.manager_a)
    with ExportFence(engine).hold(export.id) as alone:
        assert alone
        for action in ("mark_booked", "sie_instead"):
            response = _act(client, world, export, action)
            assert "a worker is sending the day right now" in client.get(response.location).get_data(
                as_text=True
            )
    assert _export(engine, D1).state == states.REJECTED
    with Session(engine) as db:
        assert claimed_days(db, world.store_a) == {D1: "fortnox"}
    _act(client, world, export, "mark_booked")  # the attempt is over: now it goes
    assert _export(engine, D1).state == states.POSTED
