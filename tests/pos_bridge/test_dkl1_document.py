"""docs/DKL1.md is what register vendors implement from: its example exchange must be what the bridge does."""

from __future__ import annotations

import zlib
from pathlib import Path

from pos_bridge import dkl1
from pos_bridge.link import RegisterLink
from pos_bridge.spool import Spool

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "DKL1.md"


def test_the_crc_is_the_one_the_document_names():
    assert f"{zlib.crc32(b'123456789'):08x}" == "cbf43926"
    assert "`cbf43926`" in DOCUMENT.read_text("utf-8")


def test_the_documented_exchange_is_exactly_what_the_bridge_answers(spool_path):
    lines = [line for line in DOCUMENT.read_text("utf-8").splitlines() if line[:3] in ("R: ", "R! ", "B: ")]
    sent = [line for line in lines if line.startswith("R")]
    documented_answers = [line[3:] for line in lines if line.startswith("B: ")]
    assert len(sent) == len(documented_answers) == 6
    for line in sent:
        if line.startswith("R: "):
            dkl1.decode_frame(line[3:].encode("utf-8"))
    spool = Spool(spool_path)
    link = RegisterLink(port=None, spool=spool)
    answers = [dkl1.encode_frame(link.handle_line(line[3:].encode("utf-8"))).decode("utf-8") for line in sent]
    assert [answer.rstrip("\n") for answer in answers] == documented_answers
    assert [z.state for z in spool.z_reports()] == ["pending", "rejected"]
    spool.close()
