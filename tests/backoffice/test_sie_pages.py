"""The SIE page of a store (DESIGN.md section 7): check a SIE file before importing it (layer 3: exact and
probable duplicates of posted days, with the evidence), export days as a SIE 4I file (layer 1: the days
are claimed for SIE, an API day is refused), the start date asked for after SIE days, CSRF, the size cap
and other agencies' stores."""

from __future__ import annotations

import argparse
import io
import json
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from backoffice import sie_cli
from backoffice.models import AuditEntry, Store, ZReportRecord
from backoffice.services.day_claims import claim_days, claimed_days
from backoffice.services.exports import preview
from backoffice.views import sie as sie_views
from exporters.core.voucher import Voucher
from exporters.sie import read_sie
from tests.backoffice.factories import ORG_A, app_settings, csrf_token, sign_in
from tests.backoffice.fortnox_world import send_days
from tests.backoffice.sie_world import post_day, sie_file

D1, D2, D3 = date(2026, 3, 14), date(2026, 3, 15), date(2026, 3, 16)


@pytest.fixture
def engine(sqlite_engine):
    """These are page tests: SQLite is enough (the claims' SQL is tested on both in test_day_claims)."""
    return sqlite_engine


def _probable(voucher: Voucher) -> bytes:
    """The register's own SIE export of the same day: same sales and VAT, payments booked elsewhere."""
    rows = [row for row in voucher.rows if 2600 <= row.account < 4000]
    total = sum(row.credit - row.debit for row in rows)
    lines = [
        "#FLAGGA 0",
        "#SIETYP 4",
        f"#ORGNR {ORG_A}",
        f'#VER "A" "17" {voucher.transaction_date:%Y%m%d} "Kassarapport 42"',
        "{",
        f"#TRANS 1930 {{}} {total}",
        *(f"#TRANS {row.account} {{}} {row.debit - row.credit}" for row in rows),
        "}",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("cp437")


@pytest.fixture
def posted(engine, world):
    send_days(engine, world.store_a, world.manager_a, range(1, 4))  # 2026-03-14 .. 16
    return post_day(engine, D1, "K 7")


def _upload(client, store_id: int, content: bytes, name: str = "bokslut.se", token: str | None = None):
    url = f"/stores/{store_id}/sie"
    if token is None:
        token = csrf_token(client.get(url).get_data(as_text=True))
    fields = {"csrf_token": token} if token else {}
    # Encoded here, in memory: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(MultiDict({**fields, "file": FileStorage(io.BytesIO(content), name)}))
    return client.post(f"{url}/check", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_the_check_lists_an_exact_duplicate_with_the_evidence(client, world, posted):
    sign_in(client, world.manager_a)
    page = _upload(client, world.store_a, sie_file([posted])).get_data(as_text=True)
    assert 'id="duplicates"' in page
    assert "1 av 1 verifikationer i bokslut.se bokför dagar som Dagskassa redan har bokfört" in page
    assert '<tr class="exact">' in page and "2026-03-14" in page
    assert "K 7" in page  # our export's voucher reference
    assert posted.marker in page  # the file's #VER carries our marker in its text


def test_the_check_lists_a_probable_duplicate(client, world, posted):
    sign_in(client, world.manager_a)
    client.get("/language/en", headers={"Referer": "http://localhost/"})
    page = _upload(client, world.store_a, _probable(posted), "kassa.se").get_data(as_text=True)
    assert '<tr class="probable">' in page
    assert "line 4: A 17 “Kassarapport 42”" in page
    assert "same date, output VAT -196.00 and sales -1200.00" in page  # credits, as SIE signs them
    assert "1930: 1445.60 in the file, 0.00 posted" in page
    assert "K 7" in page


def test_a_file_of_other_days_has_no_duplicates(client, world, posted, engine):
    with Session(engine) as db:
        other = preview(db, db.get(Store, world.store_a), _record(db, D2))[0]
    sign_in(client, world.manager_a)
    page = _upload(client, world.store_a, sie_file([other])).get_data(as_text=True)
    assert 'id="no-duplicates"' in page and "Ingen av de 1 verifikationerna" in page


def test_a_broken_file_is_named_with_its_line(client, world, posted):
    sign_in(client, world.manager_a)
    response = _upload(
        client, world.store_a, b'#FLAGGA 0\r\n#VER "A" "1" 20260314\r\n{\r\n#TRANS 1910 {} 1x\r\n}\r\n'
    )
    assert response.status_code == 422
    assert "bokslut.se: line 4" in response.get_data(as_text=True)


def test_another_company_s_file_is_flagged(client, world, posted):
    sign_in(client, world.manager_a)
    page = _upload(client, world.store_a, sie_file([posted], "556677-8881")).get_data(as_text=True)
    assert "Filen gäller organisationsnummer 556677-8881" in page


def test_the_upload_needs_the_csrf_token(client, world, posted):
    sign_in(client, world.manager_a)
    assert _upload(client, world.store_a, sie_file([posted]), token="").status_code == 400
    assert _upload(client, world.store_a, sie_file([posted]), token="forged").status_code == 400


def test_other_agencies_stores_do_not_exist(client, world, posted):
    sign_in(client, world.manager_b)
    assert client.get(f"/stores/{world.store_a}/sie").status_code == 404
    own = csrf_token(client.get(f"/stores/{world.store_b}/sie").get_data(as_text=True))
    assert _upload(client, world.store_a, sie_file([posted]), token=own).status_code == 404
    response = client.post(
        f"/stores/{world.store_a}/sie/export",
        data={"csrf_token": own, "start": "2026-03-15", "end": "2026-03-16"},
    )
    assert response.status_code == 404


def test_the_upload_takes_more_than_the_app_s_body_limit_up_to_its_cap(client, world, posted, monkeypatch):
    monkeypatch.setattr(sie_views, "MAX_UPLOAD_BYTES", 3 * 1024 * 1024)
    big = sie_file([posted] * 4000)  # about 1.8 MB, over the app's 1 MB body limit
    assert 1024 * 1024 < len(big) < 3 * 1024 * 1024
    sign_in(client, world.manager_a)
    page = _upload(client, world.store_a, big).get_data(as_text=True)
    assert "4000 av 4000 verifikationer" in page
    too_big = _upload(client, world.store_a, big + big)
    assert too_big.status_code == 413
    assert "Filen är större än 3 MB." in too_big.get_data(as_text=True)


def test_export_downloads_the_days_claims_them_and_refuses_api_days(client, world, posted, engine):
    sign_in(client, world.manager_a)
    url = f"/stores/{world.store_a}/sie"
    token = csrf_token(client.get(url).get_data(as_text=True))
    response = client.post(
        f"{url}/export", data={"csrf_token": token, "start": "2026-03-15", "end": "2026-03-20"}
    )
    assert response.status_code == 200
    assert 'filename="dagskassa-556677-8899-20260315-20260316.se"' in response.headers["Content-Disposition"]
    sie = read_sie(response.data)
    assert sie.kind == "4I" and sorted(v.date for v in sie.vouchers) == [D2, D3]
    with Session(engine) as db:
        assert claimed_days(db, world.store_a) == {D1: "fortnox", D2: "sie", D3: "sie"}
        assert db.scalars(select(AuditEntry.action).where(AuditEntry.action == "sie.exported")).one()
    again = client.post(
        f"{url}/export", data={"csrf_token": token, "start": "2026-03-13", "end": "2026-03-16"}
    )
    assert again.status_code == 422
    page = again.get_data(as_text=True)
    assert "2026-03-14 (fortnox)" in page and "2026-03-15" not in page.split("sie may not book them")[1][:40]
    assert "Dagar till och med 2026-03-16 är exporterade som SIE." in page
    with Session(engine) as db:
        assert claimed_days(db, world.store_a) == {D1: "fortnox", D2: "sie", D3: "sie"}


def test_turning_sync_on_over_sie_days_asks_for_a_later_start_date(client, world, posted, engine):
    with Session(engine) as db:
        claim_days(db, world.store_a, [D2, D3], "sie")
        db.commit()
    sign_in(client, world.manager_a)
    client.get("/language/en", headers={"Referer": "http://localhost/"})
    url = f"/stores/{world.store_a}/settings"
    token = csrf_token(client.get(url).get_data(as_text=True))
    form = {"csrf_token": token, "sync_sales": "on", "posting_time": "06:00"}
    page = client.post(url, data={**form, "sync_from": "2026-03-16"}).get_data(as_text=True)
    assert "sync_from: days up to 2026-03-16 were exported as a SIE file" in page
    assert "set the start date to 2026-03-17 or later" in page
    assert "sync_from: days up to 2026-03-16" in client.post(url, data=form).get_data(as_text=True)
    assert "is not a date" in client.post(url, data={**form, "sync_from": "17/3"}).get_data(as_text=True)
    assert client.post(url, data={**form, "sync_from": "2026-03-17"}).status_code == 302
    # Sync off: no start date needed.
    assert client.post(url, data={"csrf_token": token, "posting_time": "06:00"}).status_code == 302
    with Session(engine) as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "settings.changed")).first()
        assert entry.details["changes"]["sync_from"] == [None, "2026-03-17"]


def _record(db, day: date) -> ZReportRecord:
    return db.scalars(select(ZReportRecord).where(ZReportRecord.business_date == day)).one()


def _cli(engine, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="dagskassa")
    sie_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    args.settings = app_settings(engine.url.render_as_string(hide_password=False))
    return args.handler(args)


def test_the_command_line_exports_and_checks_a_store_s_days(engine, world, posted, tmp_path, capsys):
    out = tmp_path / "mars.se"
    store = str(world.store_a)
    assert (
        _cli(
            engine,
            "store-sie",
            "export",
            "--store",
            store,
            "--from",
            "2026-03-14",
            "--to",
            "2026-03-16",
            "--out",
            str(out),
        )
        == 2
    )
    assert "2026-03-14 (fortnox)" in capsys.readouterr().err and not out.exists()
    assert (
        _cli(
            engine,
            "store-sie",
            "export",
            "--store",
            store,
            "--from",
            "2026-03-15",
            "--to",
            "2026-03-16",
            "--out",
            str(out),
            "--checksum",
        )
        == 0
    )
    assert read_sie(out).checksum is not None
    with Session(engine) as db:
        assert claimed_days(db, world.store_a) == {D1: "fortnox", D2: "sie", D3: "sie"}
    capsys.readouterr()
    posted_file = tmp_path / "posted.se"
    posted_file.write_bytes(sie_file([posted]))
    assert _cli(engine, "store-sie", "check", "--store", store, str(posted_file), "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["duplicates"][0]["kind"] == "exact"
    assert report["duplicates"][0]["posted"]["reference"] == "K 7"
    assert _cli(engine, "store-sie", "check", "--store", store, str(out)) == 0
    assert _cli(engine, "store-sie", "check", "--store", "999", str(out)) == 2
