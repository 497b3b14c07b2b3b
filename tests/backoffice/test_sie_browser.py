"""In headless Chromium (Playwright, Debian's chromium): a store manager opens the store's SIE page, picks
a SIE file from disk and sees the voucher that books a day Dagskassa already posted, with the evidence;
then downloads the SIE export of other days. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import os

import pytest
from sqlalchemy.orm import Session

from backoffice.app import create_app
from backoffice.services.day_claims import claimed_days
from exporters.sie import read_sie
from tests.backoffice.factories import PASSWORD, agency_with_store, app_settings
from tests.backoffice.fortnox_world import send_days
from tests.backoffice.sie_world import post_day, sie_file
from tests.backoffice.test_browser import ARGS, CHROMIUM, SHOTS, served
from tests.conftest import require

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_manager_checks_a_sie_file_and_exports_days(sqlite_engine, tmp_path):
    require(os.path.exists(CHROMIUM), "Chromium (/usr/bin/chromium)")
    from datetime import date

    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with Session(sqlite_engine) as session:
        _, store, _admin, manager = agency_with_store(session, "SIE-kedjan")
        session.commit()
        store_id, manager_email = store.id, manager.email
    send_days(sqlite_engine, store_id, manager_email, range(1, 4))  # 2026-03-14 .. 16
    posted = post_day(sqlite_engine, date(2026, 3, 14), "K 7")
    upload = tmp_path / "bokslut-mars.se"
    upload.write_bytes(sie_file([posted]))

    def make(base_url: str):
        settings = app_settings(sqlite_engine.url.render_as_string()).replace(
            web={"public_url": base_url, "secure_cookies": False}
        )
        return create_app(settings, engine=sqlite_engine)

    with served(make) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{base}/login")
            page.fill("input[name=email]", manager_email)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit], form button")
            page.goto(f"{base}/stores/{store_id}/")
            page.click("nav.tabs >> text=SIE-filer")
            page.set_input_files("#sie-file", str(upload))
            page.click("#check-sie")
            row = page.locator("#duplicates tr.exact")
            row.wait_for()
            text = row.inner_text()
            assert "2026-03-14" in text and "K 7" in text and posted.marker in text
            assert "1 av 1 verifikationer i bokslut-mars.se" in page.inner_text("#sie-report")
            page.screenshot(path=SHOTS / "sie-01-check.png", full_page=True)

            page.fill("input[name=start]", "2026-03-15")
            page.fill("input[name=end]", "2026-03-16")
            with page.expect_download() as download:
                page.click("text=Ladda ned SIE-fil")
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
        finally:
            browser.close()
    assert saved.name == "dagskassa-556677-8899-20260315-20260316.se"
    assert sorted(v.date for v in read_sie(saved).vouchers) == [date(2026, 3, 15), date(2026, 3, 16)]
    with Session(sqlite_engine) as session:
        assert set(claimed_days(session, store_id).values()) == {"fortnox", "sie"}
