"""In headless Chromium (Playwright, Debian's chromium), with the BackOffice, the Fortnox sandbox and the
Visma sandbox served on 127.0.0.1: a manager whose store books in Fortnox disconnects it and connects
Visma with a start date through Visma's consent page. The days before the start date stay in Fortnox,
the later ones go to Visma, none is booked twice: counted in both sandboxes' books, and seen on Visma's
ledger page. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from backoffice.app import create_app
from backoffice.pipeline.runtime import accounting_runtime
from backoffice.pipeline.worker import ExportWorker
from exporters.fortnox import sandbox as fortnox_sandbox
from exporters.visma import sandbox as visma_sandbox
from tests.backoffice.factories import PASSWORD, agency_with_store
from tests.backoffice.fortnox_world import send_days
from tests.backoffice.provider_world import Books, settings_for
from tests.backoffice.test_browser import SHOTS, browser, served  # noqa: F401 (browser is a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: z_report(n) is dated 2026-03-13 + n days.
DAY = {n: date(2026, 3, 13 + n) for n in range(1, 5)}


def run_worker(app) -> None:
    connector = app.extensions["dagskassa"]["fortnox"]
    runtime = accounting_runtime(connector, rng=random.Random(1))
    ExportWorker(connector.sessions, runtime, "w1", rng=random.Random(1)).run_once()


def test_a_manager_switches_the_store_from_fortnox_to_visma(browser, sqlite_engine):  # noqa: F811
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    fortnox = Books("fortnox", fortnox_sandbox.seeded_state(seed=3))
    visma = Books("visma", visma_sandbox.seeded_state())
    with Session(sqlite_engine) as session:
        _, store, _admin, manager = agency_with_store(session, "Exempelkedjan")
        session.commit()
        store_id, manager_email = store.id, manager.email
    apps: dict[str, Any] = {}

    def backoffice(fortnox_url: str, visma_url: str) -> Callable[[str], Any]:
        def make(base_url: str) -> Any:
            settings = settings_for(
                sqlite_engine.url.render_as_string(), fortnox_url, visma_url, public_url=base_url
            )
            apps["backoffice"] = create_app(settings, engine=sqlite_engine)
            return apps["backoffice"]

        return make

    with (
        served(lambda _url: fortnox_sandbox.create_app(fortnox.state)) as fortnox_url,
        served(lambda _url: visma_sandbox.create_app(visma.state)) as visma_url,
        served(backoffice(fortnox_url, visma_url)) as base,
    ):
        page = browser.new_page()
        page.goto(f"{base}/login")
        page.fill("input[name=email]", manager_email)
        page.fill("input[name=password]", PASSWORD)
        page.click("form.card button")
        page.goto(f"{base}/stores/{store_id}/settings")

        # The store books in Fortnox first; two days go there.
        page.click("#connect-fortnox")
        page.fill("input[name=email]", "anna@exempelkrogen.se")
        page.fill("input[name=password]", "anna-sandbox")
        page.click("button[value=grant]")
        expect(page.locator(".flash.ok")).to_contain_text("Fortnox är anslutet.")
        page.select_option("select[name=voucher_series]", "K")
        page.click("form.card >> text=Spara")
        send_days(sqlite_engine, store_id, manager_email, range(1, 3))
        run_worker(apps["backoffice"])
        assert [day for _ref, day, _text in fortnox.vouchers()] == [DAY[1], DAY[2]]

        # Visma cannot be connected beside it.
        expect(page.locator("#connect-visma")).to_have_count(0)
        expect(page.locator("#accounting")).to_contain_text("En butik bokför i ett bokföringssystem i taget")

        # Disconnect Fortnox, connect Visma from day 3 through Visma's consent page.
        page.click("#disconnect")
        expect(page.locator(".flash.ok")).to_contain_text("Fortnox är frånkopplat.")
        expect(page.locator("#start-date-visma")).to_have_attribute("min", DAY[3].isoformat())
        page.fill("#start-date-visma", DAY[3].isoformat())
        page.screenshot(path=SHOTS / "20-switch-start-date.png", full_page=True)
        page.click("#connect-visma")
        expect(page.locator("h1")).to_contain_text("Visma eEkonomi (sandbox)")
        page.fill("input[name=email]", "anna@exempelkrogen.se")
        page.fill("input[name=password]", "anna")
        page.screenshot(path=SHOTS / "21-visma-consent.png")
        page.click("button[value=grant]")
        expect(page.locator(".flash.ok").first).to_contain_text("Visma är anslutet.")
        expect(page.locator("#accounting-system")).to_have_text("Visma")
        expect(page.locator("#accounting")).to_contain_text(
            f"bokför dagarna från och med {DAY[3].isoformat()}"
        )
        page.screenshot(path=SHOTS / "22-switched-to-visma.png", full_page=True)

        # Later days go to Visma; the earlier ones stay in Fortnox; none twice.
        send_days(sqlite_engine, store_id, manager_email, range(3, 5))
        run_worker(apps["backoffice"])
        page.goto(f"{base}/stores/{store_id}/exports")
        expect(page.locator("body")).to_contain_text(DAY[4].isoformat())
        page.screenshot(path=SHOTS / "23-exports-after-switch.png", full_page=True)
        assert [day for _ref, day, _text in fortnox.vouchers()] == [DAY[1], DAY[2]]
        assert [day for _ref, day, _text in visma.vouchers()] == [DAY[3], DAY[4]]
        page.goto(f"{visma_url}/_sandbox/ledger")
        for n in (3, 4):
            expect(page.locator("body")).to_contain_text(DAY[n].isoformat())
        for n in (1, 2):
            expect(page.locator("body")).not_to_contain_text(DAY[n].isoformat())
        page.screenshot(path=SHOTS / "24-visma-ledger.png", full_page=True)
        page.close()
