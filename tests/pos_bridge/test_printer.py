"""The receipt printer on a pseudo-terminal: DLE EOT status, the day-close slip, deferral and reprint."""

from __future__ import annotations

import pytest

from pos_bridge import dkl1
from pos_bridge.bridge import open_port
from pos_bridge.printer import PortPrinter, PrinterService
from pos_bridge.spool import Spool


@pytest.fixture
def printer(printer_sim):
    port = open_port(printer_sim.path, 9600, timeout=0.5)  # generous: the machine may be busy
    yield PortPrinter(port)
    port.close()


@pytest.fixture
def spool(spool_path, shop, day):
    """A spool holding one day's Z-report, as the link stores it."""
    spool = Spool(spool_path)
    hello = {"v": 1, "seq": 1, **shop.hello("s1")}
    spool.store_message("s1", hello)
    identity = dkl1.Identity.from_hello(hello)
    spool.store_message("s1", {"v": 1, "seq": 2, **day[-1]}, lambda m: dkl1.z_report_json(identity, m))
    yield spool
    spool.close()


@pytest.mark.parametrize(
    ("knobs", "state"),
    [
        ({}, "ok"),
        ({"paper": "near_end"}, "near_end"),
        ({"paper": "out"}, "paper_out"),
        ({"cover_open": True}, "cover_open"),
        ({"offline": True}, "offline"),
        ({"silent": True}, "unknown"),
        ({"error": "cutter"}, "error"),
    ],
)
def test_status_from_dle_eot(printer_sim, printer, knobs, state):
    for name, value in knobs.items():
        setattr(printer_sim, name, value)
    status = printer.status()
    assert status.state == state
    assert status.printable == (state in ("ok", "near_end"))


def test_the_kind_of_error_comes_from_dle_eot_3(printer_sim, printer):
    printer_sim.error = "cutter"
    assert printer.status().detail == "the printer reports an error: auto-cutter"
    printer_sim.error = "unrecoverable"
    assert printer.status().detail == "the printer reports an error: unrecoverable"
    assert printer_sim.status_queries == 8


def test_a_silent_printer_is_asked_once_not_four_times(printer_sim, printer):
    printer_sim.silent = True
    assert printer.status().detail == "no answer to DLE EOT 1"
    assert printer_sim.status_queries == 1


def test_the_slip_says_sent_after_the_upload(printer_sim, printer, spool):
    [z] = spool.z_reports()
    spool.mark_sent(z.id, 201, "{}")
    assert PrinterService(printer, spool).work_once() == 1
    text = printer_sim.text
    assert "DAGSAVSLUT" in text and "Hörnkiosken AB" in text and "Org.nr 556677-8899" in text
    assert "Kassa 1" in text and "2026-11-20" in text
    assert "(sent)" in text and "OMUTSKRIFT" not in text
    for payment in z.body["payments"]:
        amount = payment["amount"].replace(".", ",")
        assert amount[-6:] in text
    assert spool.slips()[0]["state"] == "printed"
    assert PrinterService(printer, spool).work_once() == 0  # printed once only


def test_the_slip_says_queued_when_the_backoffice_was_not_reached(printer_sim, printer, spool, clock):
    [z] = spool.z_reports()
    spool.mark_retry(z.id, clock(), "BackOffice unreachable")
    PrinterService(printer, spool).work_once()
    assert "(queued)" in printer_sim.text


def test_the_slip_waits_for_the_first_upload_attempt(printer_sim, printer, spool):
    assert PrinterService(printer, spool).work_once() == 0
    assert printer_sim.text == ""


@pytest.mark.parametrize(
    ("knob", "value", "state"),
    [
        ("paper", "out", "paper_out"),
        ("cover_open", True, "cover_open"),
        ("silent", True, "unknown"),
        ("offline", True, "offline"),
    ],
)
def test_the_slip_is_deferred_until_the_printer_can_print(printer_sim, printer, spool, knob, value, state):
    [z] = spool.z_reports()
    spool.mark_sent(z.id, 201, "{}")
    service = PrinterService(printer, spool)
    setattr(printer_sim, knob, value)
    assert service.work_once() == 0
    assert printer_sim.text == ""
    assert spool.slips()[0]["state"] == "pending" and spool.slips()[0]["printer_status"] == state
    setattr(printer_sim, knob, {"paper": "ok"}.get(knob, False))
    assert service.work_once() == 1
    assert "DAGSAVSLUT" in printer_sim.text and "OMUTSKRIFT" not in printer_sim.text


def test_a_slip_cut_short_by_the_paper_running_out_is_reprinted(printer_sim, printer, spool):
    [z] = spool.z_reports()
    spool.mark_sent(z.id, 201, "{}")
    service = PrinterService(printer, spool)
    printer_sim.paper_left = 60
    assert service.work_once() == 0
    assert "DAGSAVSLUT" in printer_sim.text and "(sent)" not in printer_sim.text
    assert spool.slips()[0]["printer_status"] == "paper_out"
    printer_sim.paper, printer_sim.paper_left = "ok", None  # a new roll
    assert service.work_once() == 1
    cut_short, reprint = printer_sim.text.split("DAGSAVSLUT")[1:]
    assert "OMUTSKRIFT" not in cut_short and "(sent)" not in cut_short
    assert reprint.startswith("\nOMUTSKRIFT") and "(sent)" in reprint
    assert spool.slips()[0]["printed_count"] == 2
