"""Every text a notification or the settings page shows has its Swedish, and every alert kind the code
raises has its title, fix and page."""

from __future__ import annotations

import re
from pathlib import Path

from backoffice.notify.texts import KINDS, PAGES, SV

PACKAGE = Path(__file__).resolve().parents[3] / "backoffice"
CALLED = re.compile(r"""\b(?:t|say)\(\s*"([^"]+)"\s*[,)]""")


def test_every_text_of_the_mails_and_the_page_has_its_swedish():
    notify = PACKAGE / "notify"
    texts = set()
    for path in [*notify.glob("*.py"), *notify.glob("templates/notify/*.html")]:
        texts |= set(CALLED.findall(path.read_text("utf-8")))
    texts |= {kind.title for kind in KINDS.values()} | {kind.fix for kind in KINDS.values()}
    assert len(texts) > 40
    assert sorted(text for text in texts if text not in SV) == []


def test_every_kind_has_a_page_and_the_known_alert_kinds_are_described():
    assert {kind.page for kind in KINDS.values()} <= set(PAGES)
    raised = {
        "no_z_report", "z_gap", "z_incomplete", "z_invalid", "z_conflict", "unmapped", "preflight_failed",
        "reconnect_needed", "token_expiring", "register_silent",
        "export_rejected", "export_needs_attention", "export_held_duplicate",
    }  # fmt: skip
    assert raised <= set(KINDS)


def test_a_mail_in_english_and_in_swedish_names_the_store_the_day_the_fix_and_the_link():
    from datetime import date, datetime

    from backoffice.notify.mail import Notice, single

    notice = Notice(
        event_id=1,
        event="opened",
        kind="export_rejected",
        store_name="Krogen",
        org_number="556677-8899",
        day=date(2026, 3, 14),
        at=datetime(2026, 3, 15, 6, 0),
        message="fortnox 2026-03-14 Z 1 (Kassa 1): refused: account 1580 is not active",
        fix="activate account 1580 in Fortnox",
        link="https://kassa.example.se/stores/1/exports/7",
    )
    english = single(
        notice, "anna@krogen.se", "dagskassa@example.se", "en", "https://kassa.example.se/notifications"
    )
    assert english["Subject"] == "[Dagskassa] Krogen 2026-03-14: Fortnox refused a day"
    text = english.get_content()
    for line in (
        "Store: Krogen (556677-8899)",
        "Day: 2026-03-14",
        "What happened: fortnox 2026-03-14 Z 1 (Kassa 1): refused: account 1580 is not active",
        "What to do: Open the day, fix what Fortnox named and send it again. (activate account 1580 in Fortnox)",
        "Open: https://kassa.example.se/stores/1/exports/7",
    ):
        assert line in text
    swedish = single(
        notice, "anna@krogen.se", "dagskassa@example.se", "sv", "https://kassa.example.se/notifications"
    )
    assert swedish["Subject"] == "[Dagskassa] Krogen 2026-03-14: Fortnox avvisade en dag"
    assert "Butik: Krogen" in swedish.get_content() and "Vad du gör: Öppna dagen" in swedish.get_content()
    assert swedish["Content-Language"] == "sv"
