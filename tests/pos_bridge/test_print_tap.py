"""The print-stream adapter: a python-escpos Z-dagrapport and the hand-built fixtures in tests/fixtures/escpos."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from pathlib import Path

import pytest

from exporters.core import parse_z_report
from pos_bridge import dkl1
from pos_bridge.bridge import Bridge, open_port
from pos_bridge.print_tap import PrintTap
from pos_bridge.print_template import TemplateError, load_template, printed_money
from pos_bridge.printouts import render_receipt, render_z_dagrapport
from pos_bridge.ptys import PtyEnd
from pos_bridge.spool import Spool
from tests.pos_bridge.test_end_to_end import enroll_bridge, wait_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "escpos"


@pytest.fixture
def z_report(shop, day):
    """The section-2 JSON of the simulated day's Z-report."""
    return dkl1.z_report_json(dkl1.Identity.from_hello({"session": "s", **shop.hello("s")}), day[-1])


@pytest.fixture
def spool(spool_path):
    spool = Spool(spool_path)
    yield spool
    spool.close()


def tap_for(spool, template=None, printer=None) -> PrintTap:
    return PrintTap(register=None, printer=printer, spool=spool, template=template or load_template())


def test_a_python_escpos_z_dagrapport_becomes_the_same_z_report(spool, z_report):
    raw = render_z_dagrapport(z_report)
    [stored] = tap_for(spool).feed(raw)
    assert stored.z_state == "pending" and stored.problems == ()
    [row] = spool.z_reports()
    assert parse_z_report(row.body).content_hash() == parse_z_report(z_report).content_hash()
    assert tuple(spool.db.execute("SELECT raw, is_z_report FROM print_jobs").fetchone()) == (raw, 1)


def test_a_day_of_printouts_is_cut_into_jobs_and_only_the_z_is_read(spool, shop, day, z_report):
    stream = b"".join(render_receipt(shop, message) for message in day[:-1]) + render_z_dagrapport(z_report)
    tap = tap_for(spool)
    stored = []
    for start in range(0, len(stream), 97):  # as the bytes trickle in over the serial line
        stored += tap.feed(stream[start : start + 97])
    assert len(stored) == len(day)
    assert [row[0] for row in spool.db.execute("SELECT is_z_report FROM print_jobs")] == [0] * (
        len(day) - 1
    ) + [1]
    assert b"".join(row[0] for row in spool.db.execute("SELECT raw FROM print_jobs ORDER BY id")) == stream
    assert spool.count_by_state() == {"pending": 1}


def test_every_byte_reaches_the_printer_and_its_answers_the_register(spool, printer_sim, z_report):
    register = PtyEnd()
    register_port = open_port(register.path, 9600, timeout=0.05)
    printer_port = open_port(printer_sim.path, 9600, timeout=0.05)
    stop = threading.Event()

    def serve() -> None:  # in its own thread, with its own spool connection, as in the bridge
        own = Spool(spool.path)
        PrintTap(register_port, printer_port, own, load_template(), idle_seconds=0.2).serve(stop)
        own.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        register.write(render_z_dagrapport(z_report))
        register.write(b"\x10\x04\x01")  # the register asks its printer for status, through the bridge
        assert register.read(1, timeout=5) == b"\x12"
        wait_for(lambda: "GT netto" in printer_sim.text, "the printout at the printer")
        wait_for(lambda: spool.count_by_state() == {"pending": 1}, "the Z-report in the spool")
    finally:
        stop.set()
        thread.join(timeout=5)
        register_port.close()
        printer_port.close()
        register.close()
    assert "Z-DAGRAPPORT" in printer_sim.text and "Hörnkiosken AB" in printer_sim.text


def test_the_kassaco_fixture_with_its_own_template(spool):
    template = load_template(FIXTURES / "z_kassaco.json")
    [stored] = tap_for(spool, template).feed((FIXTURES / "z_kassaco.bin").read_bytes())
    assert stored.z_state == "pending"
    report = parse_z_report(spool.z_reports()[0].body)
    assert (report.z_number, report.register.id, report.business_date.isoformat()) == (
        7,
        "Kassa 1",
        "2026-11-21",
    )
    assert report.opened_at.isoformat() == "2026-11-21T09:00:00+01:00"
    assert {row.product_group: str(row.net) for row in report.sales} == {
        "Dryck": "400.00",
        "Mat": "800.00",
        "Tidningar": "100.00",
    }
    assert report.payments_by_method() == {"cash": 300, "card": printed_money("1 059,60"), "swish": 106}
    assert str(report.rounding) == "-0.40" and str(report.grand_totals.net) == "248800.00"
    assert report.missing_required_items() == []


@pytest.mark.parametrize("fixture", ["kvitto_kiosk.bin", "x_dagrapport.bin"])
def test_receipts_and_x_reports_pass_as_print_jobs_only(spool, fixture):
    for template in (load_template(), load_template(FIXTURES / "z_kassaco.json")):
        tap_for(spool, template).feed((FIXTURES / fixture).read_bytes())
    assert spool.z_reports() == []
    texts = [row[0] for row in spool.db.execute("SELECT text FROM print_jobs")]
    assert len(texts) == 2 and ("KVITTO 4711" in texts[0] or "X-DAGRAPPORT" in texts[0])


def test_a_z_dagrapport_that_does_not_add_up_is_kept_as_rejected(spool):
    raw = (FIXTURES / "z_kassaco_trasig.bin").read_bytes()
    [stored] = tap_for(spool, load_template(FIXTURES / "z_kassaco.json")).feed(raw)
    assert stored.z_state == "rejected"
    [row] = spool.z_reports()
    assert row.errors[0]["field"] == "payments" and "difference 100.00" in row.errors[0]["message"]
    assert spool.db.execute("SELECT raw FROM print_jobs").fetchone()[0] == raw


def test_a_printout_the_template_cannot_read_names_the_fields(spool, z_report):
    text_only = render_z_dagrapport(z_report).replace(b"Z-nummer", b"Znr").replace(b"Datum", b"Dag")
    [stored] = tap_for(spool).feed(text_only)
    assert stored.z_state == "rejected"
    assert {p.field for p in stored.problems} == {"z_number", "business_date"}


def test_a_job_without_a_cut_ends_when_the_register_pauses(spool, z_report):
    raw = render_z_dagrapport(z_report).removesuffix(b"\x1bd\x06\x1dV\x00")
    tap = tap_for(spool)
    assert tap.feed(raw) == []
    assert tap.flush().z_state == "pending"


def test_a_bad_template_says_what_is_wrong(tmp_path):
    path = tmp_path / "template.json"
    path.write_text(json.dumps({"title": "Z", "fields": {"z_nummer": "x"}, "sections": {}}))
    with pytest.raises(TemplateError, match="unknown fields \\['z_nummer'\\]"):
        load_template(path)
    path.write_text(json.dumps({"title": "(", "fields": {}, "sections": {}}))
    with pytest.raises(TemplateError, match="title is not a regex"):
        load_template(path)


def test_the_bridge_in_print_stream_mode_end_to_end(
    bridge_settings, backoffice, printer_sim, z_report, caplog
):
    register = PtyEnd()
    settings = dataclasses.replace(
        bridge_settings,
        register_protocol="print_stream",
        register_url=register.path,
        printer_url=printer_sim.path,
    )
    enroll_bridge(settings, backoffice)
    caplog.set_level(logging.INFO, logger="pos_bridge.bridge")
    bridge = Bridge(settings).start()
    try:
        # Opening a serial port flushes what was waiting on it, so the register prints once the bridge listens.
        wait_for(lambda: any("print-stream adapter" in r.message for r in caplog.records), "the adapter")
        register.write(render_z_dagrapport(z_report))
        wait_for(lambda: backoffice.app.created == 1, "the Z-report at the BackOffice")
        wait_for(lambda: "(sent)" in printer_sim.text, "the day-close slip after the printout")
    finally:
        bridge.close()
        register.close()
    assert printer_sim.text.index("Z-DAGRAPPORT") < printer_sim.text.index("DAGSAVSLUT")
    stored = backoffice.app.reports["Kassa 1", 1]["report"]
    assert parse_z_report(stored).content_hash() == parse_z_report(z_report).content_hash()
