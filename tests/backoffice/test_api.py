"""The register API on SQLite and on PostgreSQL: enrollment, and Z-reports 201/200/409/422."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.models import Alert, AuditEntry, Export, RefusedReport, Register, Store, User, ZReportRecord
from backoffice.services.registers import create_enrollment_code
from tests.backoffice.factories import ORG_B, enrolled_token, z_report


def _token(engine, world, register_id: str = "Kassa 1") -> str:
    with Session(engine) as session:
        store = session.get(Store, world.store_a)
        manager = session.scalars(select(User).where(User.email == world.manager_a)).one()
        token = enrolled_token(session, store, manager, register_id)
        session.commit()
        return token


def _post(client, token: str, report, key: str | None = None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    body = report if isinstance(report, bytes) else json.dumps(report).encode()
    return client.post("/api/v1/z-reports", data=body, headers=headers, content_type="application/json")


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_enroll_trades_a_one_time_code_for_a_token_kept_hashed(client, engine, world):
    with Session(engine) as session:
        store = session.get(Store, world.store_a)
        manager = session.scalars(select(User).where(User.email == world.manager_a)).one()
        code, _ = create_enrollment_code(session, store, manager)
        session.commit()
    body = {"code": code.lower().replace("-", ""), "register_id": "Kassa 2", "control_unit_id": "CU-9"}
    first = client.post("/api/v1/enroll", json=body)
    assert first.status_code == 201
    token = first.json["device_token"]
    assert first.json["register_id"] == "Kassa 2"
    again = client.post("/api/v1/enroll", json=body)
    assert again.status_code == 422
    assert again.json["errors"][0]["field"] == "code"
    with Session(engine) as session:
        register = session.scalars(select(Register).where(Register.register_key == "Kassa 2")).one()
        assert register.store_id == world.store_a
        assert token not in register.token_hash and len(register.token_hash) == 64


def test_enroll_lists_every_missing_field(client):
    response = client.post("/api/v1/enroll", json={})
    assert response.status_code == 422
    assert {e["field"] for e in response.json["errors"]} == {"code", "register_id", "control_unit_id"}


def test_new_report_201_same_again_200_other_content_409_kept(client, engine, world):
    token = _token(engine, world)
    report = z_report(5)
    created = _post(client, token, report, "kassa-1:z:5")
    assert created.status_code == 201, created.json
    again = _post(client, token, json.dumps(report, indent=2).encode())  # other spelling, same content
    assert again.status_code == 200
    assert again.json["id"] == created.json["id"]
    other = z_report(
        5,
        rounding="-0.30",
        payments=[{"method": "cash", "amount": "395.70"}, {"method": "card", "amount": "1050.00"}],
    )
    conflict = _post(client, token, other)
    assert conflict.status_code == 409
    assert conflict.json["errors"][0]["field"] == "z_number"
    with Session(engine) as session:
        record = session.get(ZReportRecord, created.json["id"])
        assert json.loads(record.raw_json) == report  # as received
        assert [e.channel for e in record.exports] == ["fortnox"]
        assert record.exports[0].state == "ready"
        kept = session.scalars(select(RefusedReport)).one()
        assert kept.reason == "conflict" and kept.conflicts_with_id == record.id
        assert json.loads(kept.raw_body) == other
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"z_report.received", "z_report.refused_conflict", "register.enrolled"} <= actions


def test_invalid_report_422_lists_every_error_and_keeps_the_body(client, engine, world):
    token = _token(engine, world)
    report = z_report(1, currency="EUR")
    report["sales"][0]["vat"] = "99.00"
    del report["business_date"]
    response = _post(client, token, report)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json["errors"]}
    assert {"currency", "sales[0].vat", "business_date"} <= fields
    assert all(e["message"] for e in response.json["errors"])
    assert _count(engine, ZReportRecord) == 0
    with Session(engine) as session:
        kept = session.scalars(select(RefusedReport)).one()
        assert kept.reason == "invalid" and kept.z_number == 1
        assert json.loads(kept.raw_body) == report
    assert _post(client, token, report).status_code == 422
    assert _count(engine, RefusedReport) == 1  # a retried refusal is kept once


def test_not_json_is_422_naming_the_body(client, engine, world):
    token = _token(engine, world)
    response = _post(client, token, b"\xff{not json")
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "body"
    assert _count(engine, RefusedReport) == 1


def test_report_must_come_from_the_token_register_and_the_store(client, engine, world):
    token = _token(engine, world)
    report = z_report(1, register={"id": "Kassa 9", "control_unit_id": "CU-0001"}, org_number=ORG_B)
    response = _post(client, token, report, "kassa-1:z:2")
    assert response.status_code == 422
    assert {e["field"] for e in response.json["errors"]} == {"register.id", "org_number", "Idempotency-Key"}


def test_no_or_revoked_token_is_401(client, engine, world):
    assert _post(client, "nonsense", z_report(1)).status_code == 401
    token = _token(engine, world)
    with Session(engine) as session:
        session.scalars(select(Register)).one().revoked_at = func.now()
        session.commit()
    response = _post(client, token, z_report(1))
    assert response.status_code == 401
    assert response.json["errors"][0]["field"] == "Authorization"


def test_gap_in_z_numbers_is_accepted_with_an_alert(client, engine, world):
    token = _token(engine, world)
    assert _post(client, token, z_report(1)).status_code == 201
    response = _post(client, token, z_report(4))
    assert response.status_code == 201
    assert response.json["warnings"][0]["field"] == "z_number"
    with Session(engine) as session:
        alert = session.scalars(select(Alert).where(Alert.kind == "z_gap")).one()
        assert "Z 2-3" in alert.message


def test_report_missing_skatteverket_items_is_accepted_but_flagged(client, engine, world):
    token = _token(engine, world)
    report = z_report(1)
    for name in ("float", "counts", "grand_totals", "copies"):
        del report[name]
    response = _post(client, token, report)
    assert response.status_code == 201
    with Session(engine) as session:
        record = session.get(ZReportRecord, response.json["id"])
        assert any(item.startswith("float") for item in record.missing_items)
        assert session.scalars(select(Alert).where(Alert.kind == "z_incomplete")).one()


def test_unmapped_key_makes_the_export_need_attention(client, engine, world):
    token = _token(engine, world)
    report = z_report(1)
    report["payments"][0]["method"] = "klarna"
    response = _post(client, token, report)
    assert response.status_code == 201
    with Session(engine) as session:
        export = session.scalars(select(Export)).one()
        assert export.state == "needs_attention"
        assert "klarna" in export.error_message
        assert (
            "payment_method:klarna"
            in session.scalars(select(Alert.message).where(Alert.kind == "unmapped")).one()
        )


def test_money_is_stored_as_exact_decimals(client, engine, world):
    token = _token(engine, world)
    response = _post(client, token, z_report(1))
    with Session(engine) as session:
        record = session.get(ZReportRecord, response.json["id"])
        assert str(record.gross_sales) == "1396.00"
        assert str(record.total_payments) == "1445.60"


def test_health_and_openapi(client):
    assert client.get("/api/v1/health").json == {"status": "ok"}
    document = client.get("/api/openapi.json").json
    assert set(document["paths"]) == {"/api/v1/health", "/api/v1/enroll", "/api/v1/z-reports"}
