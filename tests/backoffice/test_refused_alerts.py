"""Refused Z-reports' alerts resolve: settled by a later accepted report of the same register (the same Z
number for an invalid one, the same day for a conflict), or dismissed by a person on the exports page
(audited); the outbox holds exactly one "resolved" event each. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.db import make_sessionmaker
from backoffice.models import Alert, AuditEntry, RefusedReport, Store, User
from backoffice.notify import refused as refused_reports
from backoffice.notify.jobs import run_checks
from backoffice.notify.models import NotificationEvent
from tests.backoffice.factories import app_settings, csrf_token, enrolled_token, sign_in, z_report

WRONG_PAYMENTS = [{"method": "cash", "amount": "1.00"}, {"method": "card", "amount": "1050.00"}]


@pytest.fixture
def send(client, engine, world):
    with Session(engine) as session:
        store = session.get(Store, world.store_a)
        manager = session.scalars(select(User).where(User.email == world.manager_a)).one()
        token = enrolled_token(session, store, manager)
        session.commit()

    def send(body: dict) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return client.post("/api/v1/z-reports", json=body, headers=headers).status_code

    return send


def _alerts(engine, kind: str) -> list[Alert]:
    with Session(engine) as session:
        return list(session.scalars(select(Alert).where(Alert.kind == kind)))


def _events(engine, alert_id: int) -> list[str]:
    with Session(engine) as session:
        return sorted(
            session.scalars(select(NotificationEvent.event).where(NotificationEvent.alert_id == alert_id))
        )


def _settle(engine) -> int:
    return refused_reports.settle(make_sessionmaker(engine), datetime.now(UTC))


def test_an_invalid_report_is_settled_by_the_same_z_number_accepted_later(engine, send):
    assert send(z_report(1)) == 201
    assert send(z_report(2, payments=WRONG_PAYMENTS)) == 422
    (alert,) = _alerts(engine, "z_invalid")
    assert alert.message == refused_reports.alert_message("Kassa 1", "invalid")  # as ingest opens it
    assert _settle(engine) == 0  # nothing took its place yet
    assert send(z_report(3)) == 201  # another day: no
    assert _settle(engine) == 0 and _alerts(engine, "z_invalid")[0].resolved_at is None

    assert send(z_report(2)) == 201
    assert _settle(engine) == 1
    (alert,) = _alerts(engine, "z_invalid")
    assert alert.resolved_at is not None
    assert _events(engine, alert.id) == ["opened", "resolved"]
    with Session(engine) as session:
        refused = session.scalars(select(RefusedReport)).one()
        assert refused.settled_by_id is not None and refused.reviewed_at is not None
        assert session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "z_report.refused_settled")
        ).one()
    assert _settle(engine) == 0
    assert _events(engine, alert.id) == ["opened", "resolved"]


def test_a_conflict_is_settled_by_the_day_accepted_under_another_number(engine, send, world):
    assert send(z_report(1)) == 201
    other_content = z_report(1, rounding="-0.40", float="1000.00")
    assert send(other_content) == 409
    (alert,) = _alerts(engine, "z_conflict")
    assert send(z_report(2)) == 201  # the next day: the conflicting day is still not in
    assert _settle(engine) == 0
    assert send(z_report(3, business_date="2026-03-14")) == 201  # day 2026-03-14 under Z 3
    # Through the scheduler's notification checks, as it runs every 15 minutes.
    run_checks(app_settings(), make_sessionmaker(engine))
    assert _alerts(engine, "z_conflict")[0].resolved_at is not None
    assert _events(engine, alert.id) == ["opened", "resolved"]


def test_the_alert_waits_for_every_refused_report_and_a_person_dismisses_one(
    app, client, engine, send, world
):
    assert send(z_report(1, payments=WRONG_PAYMENTS)) == 422
    assert send(z_report(2, payments=WRONG_PAYMENTS)) == 422
    (alert,) = _alerts(engine, "z_invalid")  # one alert for the register
    assert send(z_report(1)) == 201
    assert _settle(engine) == 1
    assert _alerts(engine, "z_invalid")[0].resolved_at is None  # Z 2 still waits

    sign_in(client, world.manager_a)
    page = client.get(f"/stores/{world.store_a}/exports/").get_data(as_text=True)
    assert "ersatt av en senare rapport" in page
    with Session(engine) as session:
        waiting = session.scalars(select(RefusedReport).where(RefusedReport.reviewed_at.is_(None))).one()
    url = f"/stores/{world.store_a}/exports/refused/{waiting.id}/dismiss"
    assert client.post(url).status_code == 400  # no CSRF token
    assert _alerts(engine, "z_invalid")[0].resolved_at is None
    outsider = app.test_client()
    sign_in(outsider, world.admin_b)
    token_b = csrf_token(outsider.get("/agency/").get_data(as_text=True))
    assert outsider.post(url, data={"csrf_token": token_b}).status_code == 404

    response = client.post(url, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert _alerts(engine, "z_invalid")[0].resolved_at is not None
    assert _events(engine, alert.id) == ["opened", "resolved"]
    page = client.get(f"/stores/{world.store_a}/exports/").get_data(as_text=True)
    assert f"avfärdad av {world.manager_a}" in page
    with Session(engine) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "z_report.refused_dismissed")
        ).one()
        assert (entry.actor, entry.store_id, entry.details["refused_id"]) == (
            world.manager_a,
            world.store_a,
            waiting.id,
        )
    # Dismissed twice (a second tab): nothing more.
    client.post(url, data={"csrf_token": csrf_token(page)})
    assert _events(engine, alert.id) == ["opened", "resolved"]
    assert _settle(engine) == 0
