"""DKL/1 on a pseudo-terminal: frames, ACK after the spool, NAK with the reason, duplicates harmless."""

from __future__ import annotations

import json

from pos_bridge import dkl1


def _count(link, table: str) -> int:
    return link.spool.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_crc_is_over_the_json_bytes():
    frame = dkl1.encode_frame({"v": 1, "seq": 1, "type": "ping"})
    assert frame == b'{"v":1,"seq":1,"type":"ping"}*fa4cb248\n'
    assert dkl1.decode_frame(frame) == {"v": 1, "seq": 1, "type": "ping"}
    # Non-ASCII text is UTF-8 inside the CRC.
    hello = {"v": 1, "seq": 2, "type": "hello", "session": "s", "org_number": "556677-8899"}
    hello |= {"register_id": "Kassa 1", "control_unit_id": "CU", "company_name": "Hörnkiosken AB"}
    assert dkl1.decode_frame(dkl1.encode_frame(hello))["company_name"] == "Hörnkiosken AB"


def test_a_normal_day_is_acked_message_by_message_and_spooled(link, shop, day):
    ack = link.client.send(shop.hello(link.client.session))
    assert ack["type"] == "ack"
    for message in day:
        ack = link.client.send(message)
        assert ack == {"v": 1, "type": "ack", "seq": link.client.seq, **ack}
    assert ack["z_report"] == "pending" and ack["z_number"] == 1
    assert _count(link, "messages") == len(day) + 1
    [z] = link.spool.z_reports()
    assert z.state == "pending"
    assert z.body["register"] == {"id": "Kassa 1", "control_unit_id": "CU-0001-2345"}
    assert link.client.naks == []


def test_corrupted_frames_are_nakked_with_the_reason_and_not_stored(link, shop):
    link.client.send(shop.hello(link.client.session))
    good = dkl1.encode_frame(link.client.frame({"type": "ping"}))
    flipped = good.replace(b"ping", b"pinG")
    assert link.exchange(flipped)["reason"] == "crc"
    assert link.exchange(b'{"v":1,"seq":5,"type":"ping"}\n')["reason"] == "crc"
    not_json = b"{v:1}"
    assert link.exchange(not_json + b"*" + dkl1.crc32_hex(not_json).encode() + b"\n")["reason"] == "json"
    assert link.exchange(dkl1.encode_frame({"v": 1, "type": "receipt"}))["reason"] == "envelope"
    nak = link.exchange(dkl1.encode_frame({"v": 2, "seq": 9, "type": "receipt"}))
    assert (nak["reason"], nak["seq"]) == ("envelope", 9)
    assert link.exchange(b"\x00\xff garbage on the line\r\n")["reason"] == "crc"
    assert _count(link, "messages") == 1  # only the hello
    # The register resends the frame it got a NAK for, and it goes through.
    assert link.exchange(good) == {"v": 1, "type": "ack", "seq": 2, "pong": True}


def test_a_frame_before_any_hello_is_nakked_then_goes_through_after_it(link, shop, day):
    link.client.hello = dkl1.check_envelope(
        {"v": 1, "seq": 100, **shop.hello(link.client.session)}
    )  # the client knows what to send when told hello_first
    ack = link.client.send(day[0])
    assert ack["type"] == "ack"
    assert [nak["reason"] for nak in link.client.naks] == ["hello_first"]
    assert _count(link, "messages") == 2


def test_a_resent_frame_is_acked_again_but_stored_once(link, shop, day):
    link.client.send(shop.hello(link.client.session))
    framed = link.client.frame(day[-1])
    first = link.client.send(framed)
    again = link.client.send(framed)
    assert first == again
    assert _count(link, "messages") == 2
    assert len(link.spool.z_reports()) == 1


def test_a_seq_used_again_for_other_content_is_nakked(link, shop, day):
    link.client.send(shop.hello(link.client.session))
    link.client.send({"v": 1, "seq": 50, **day[0]})
    nak = link.exchange(dkl1.encode_frame({"v": 1, "seq": 50, **day[1]}))
    assert nak["reason"] == "seq_reused"
    assert _count(link, "messages") == 2


def test_a_repeated_z_report_is_one_report(link, shop, day):
    link.client.send(shop.hello(link.client.session))
    z_report = day[-1]
    link.client.send(z_report)
    ack = link.client.send(z_report)  # the operator closes the same day again: a new seq, same content
    assert ack["z_report"] == "pending"
    assert _count(link, "messages") == 3
    assert len(link.spool.z_reports()) == 1
    assert len(link.spool.slips()) == 1


def test_an_invalid_z_report_is_kept_as_rejected_with_every_error(link, shop, day):
    link.client.send(shop.hello(link.client.session))
    broken = json.loads(json.dumps(day[-1]))
    broken["payments"][0]["amount"] += 100
    broken["float"] = "2000.00"
    ack = link.client.send(broken)
    assert ack["z_report"] == "rejected"
    fields = {problem["field"] for problem in ack["problems"]}
    assert fields == {"float"}  # the öre conversion is checked first
    broken["float"] = 200000
    ack = link.client.send(broken)
    assert [problem["field"] for problem in ack["problems"]] == ["payments"]
    rows = link.spool.z_reports()
    assert [row.state for row in rows] == ["rejected", "rejected"]
    assert rows[1].errors[0]["field"] == "payments" and "difference 1.00" in rows[1].errors[0]["message"]


def test_a_z_report_naming_another_register_is_rejected(link, shop, day):
    link.client.send(shop.hello(link.client.session))
    ack = link.client.send({**day[-1], "register_id": "Kassa 2"})
    assert ack["z_report"] == "rejected"
    assert ack["problems"][0]["field"] == "register_id"


def test_the_identity_survives_a_restart_of_the_link(spool_path, shop, day):
    from tests.pos_bridge.conftest import LinkUnderTest

    first = LinkUnderTest(spool_path)
    first.client.send(shop.hello(first.client.session))
    first.close()
    second = LinkUnderTest(spool_path)
    second.client.seq = first.client.seq  # the same register, which did not restart: its seq goes on
    try:
        assert second.client.send(day[0])["type"] == "ack"
        assert second.client.naks == []
    finally:
        second.close()
