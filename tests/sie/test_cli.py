"""``dagskassa sie read | check | export`` through the real entry point."""

from __future__ import annotations

import json

import pytest

from config.cli import main
from exporters.sie import read_sie
from tests.sie.conftest import FIXTURES, z_report_data

D = "2026-03-14"


@pytest.fixture
def z_files(tmp_path):
    from datetime import date

    paths = []
    for number, day in enumerate((date(2026, 3, 13), date(2026, 3, 14)), 1):
        path = tmp_path / f"z{number}.json"
        path.write_text(json.dumps(z_report_data(day, number)), "utf-8")
        paths.append(path)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"cash_difference": 6990}), "utf-8")
    return paths, mapping


def test_read_json(capsys):
    assert main(["sie", "read", str(FIXTURES / "lonekorning_4i.si"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["company"] == {"name": "Smedjan i Höör AB", "org_number": "556012-3456"}
    assert data["vouchers"][0]["rows"][4]["objects"] == [["1", "200"]]
    assert data["vouchers"][0]["rows"][4]["amount"] == "32150.00"


def test_read_text(capsys):
    assert main(["sie", "read", str(FIXTURES / "bokslut_4e_ksumma_tabb.se")]) == 0
    out = capsys.readouterr().out
    assert "SIE 4E from Bokslutsverktyget 2025.3.1" in out
    assert "checksum: 2242865391" in out
    assert "#VER A 2 2024-07-05 Mjöl, Kvarnen AB" in out


def test_read_error_exits_2_with_the_line(tmp_path, capsys):
    broken = tmp_path / "broken.se"
    broken.write_bytes(b'#FLAGGA 0\r\n#VER "" "" 20260102\r\n{\r\n#TRANS 1910 {} 1.00\r\n}\r\n')
    assert main(["sie", "read", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}: line 2: voucher" in err and "does not balance" in err


def test_export_then_check(tmp_path, z_files, capsys):
    (first, second), mapping = z_files
    out = tmp_path / "dagar.si"
    argv = ["sie", "export", "--z-report", str(first), "--z-report", str(second), "--mapping", str(mapping)]
    assert main([*argv, "--out", str(out), "--series", "K", "--checksum", "--day", D]) == 0
    assert "wrote 1 voucher(s) for 1 day(s)" in capsys.readouterr().out
    sie = read_sie(out)
    assert [str(ver.date) for ver in sie.vouchers] == [D]
    assert sie.checksum is not None
    assert sie.vouchers[0].series == "K"

    # The day was posted through the API too: the check lists it as an exact duplicate.
    preview = tmp_path / "posted.json"
    assert (
        main(["voucher", "preview", "--z-report", str(second), "--mapping", str(mapping), "--format", "json"])
        == 0
    )
    voucher = json.loads(capsys.readouterr().out)
    voucher["transaction_date"] = D
    preview.write_text(json.dumps([voucher]), "utf-8")
    assert main(["sie", "check", str(out), "--posted", str(preview)]) == 1
    report = capsys.readouterr().out
    assert "1 of 1 vouchers" in report and "EXACT duplicate" in report
    assert main(["sie", "check", str(out), "--against", str(preview), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["duplicates"][0]["kind"] == "exact"

    preview.write_text("[]", "utf-8")
    assert main(["sie", "check", str(out), "--posted", str(preview), "--org-number", "556677-8899"]) == 0
    assert "none of the 1 vouchers" in capsys.readouterr().out
    assert main(["sie", "check", str(out), "--posted", str(preview), "--org-number", "559012-3456"]) == 1
    assert "not this store's" in capsys.readouterr().out


def test_export_refuses_days_posted_through_the_api(tmp_path, z_files, capsys):
    (first, second), mapping = z_files
    out = tmp_path / "dagar.si"
    argv = ["sie", "export", "--z-report", str(first), "--z-report", str(second), "--mapping", str(mapping)]
    assert main([*argv, "--out", str(out), "--posted-via-api", D]) == 2
    assert f"already posted to the accounting system through the API: {D}" in capsys.readouterr().err
    assert not out.exists()


def test_check_of_a_broken_file_exits_2(tmp_path, capsys):
    posted = tmp_path / "posted.json"
    posted.write_text("[]", "utf-8")
    broken = tmp_path / "broken.si"
    broken.write_bytes(b"#FLAGGA 0\r\n#TRANS 1910 {} 1\r\n")
    assert main(["sie", "check", str(broken), "--posted", str(posted)]) == 2
    assert "line 2: #TRANS outside a voucher" in capsys.readouterr().err
