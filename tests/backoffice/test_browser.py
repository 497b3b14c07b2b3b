"""In headless Chromium (Playwright, Debian's chromium), with the BackOffice and the Fortnox sandbox
served on 127.0.0.1: a new manager signs in, connects the sandbox through its consent page, maps an
account and enrolls a register; a Z-report posted to the API appears with its voucher preview; the
agency admin sees the store's preflight row turn red when the series stops being manual in Fortnox.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from backoffice.app import create_app
from backoffice.services import background
from exporters.fortnox import sandbox
from tests.backoffice.factories import PASSWORD, agency_with_store, app_settings, sandbox_fortnox, z_report
from tests.conftest import require

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@contextmanager
def served(make_app: Callable[[str], Any]) -> Iterator[str]:
    """Serve ``make_app(base_url)`` on a free port of 127.0.0.1 in a thread; yield its base URL."""
    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    holder["app"] = make_app(base_url)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def browser():
    require(os.path.exists(CHROMIUM), "Chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def test_manager_sets_up_a_store_and_the_admin_sees_preflight_turn_red(browser, sqlite_engine):
    SHOTS.mkdir(parents=True, exist_ok=True)
    state = sandbox.seeded_state(seed=3)
    with Session(sqlite_engine) as session:
        _, store, admin, manager = agency_with_store(session, "Exempelkedjan")
        session.commit()
        store_id, admin_email, manager_email = store.id, admin.email, manager.email

    def backoffice(fortnox_url: str) -> Callable[[str], Any]:
        def make(base_url: str) -> Any:
            settings = app_settings(sqlite_engine.url.render_as_string()).replace(
                web={"public_url": base_url, "secure_cookies": False},
                fortnox=sandbox_fortnox(fortnox_url),
                security={"encryption_keys": (Fernet.generate_key().decode(),)},
            )
            apps.append(create_app(settings, engine=sqlite_engine))
            return apps[-1]

        return make

    apps: list[Any] = []

    def run_background_jobs() -> None:
        """What the scheduler does every few seconds: run the check-all job the page queued."""
        state = apps[-1].extensions["dagskassa"]
        assert background.run_queued(state["sessions"], state["fortnox"]) == 1

    with (
        served(lambda _url: sandbox.create_app(state)) as fortnox_url,
        served(backoffice(fortnox_url)) as base,
    ):
        _walk_through(browser, base, store_id, manager_email, admin_email, state, run_background_jobs)


def _walk_through(browser, base, store_id, manager_email, admin_email, state, run_background_jobs) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", manager_email)
    page.fill("input[name=password]", PASSWORD)
    page.screenshot(path=SHOTS / "01-sign-in.png")
    page.click("form.card button")
    expect(page.locator("h1")).to_contain_text("Exempelkedjan Butik 1")

    # Connect Fortnox through the sandbox's consent page
    page.click("text=Integrationsinställningar")
    page.click("#connect-fortnox")
    expect(page.locator("body")).to_contain_text("Godkänn")
    page.screenshot(path=SHOTS / "02-fortnox-consent.png")
    page.fill("input[name=email]", "anna@exempelkrogen.se")
    page.fill("input[name=password]", "anna-sandbox")
    page.click("button[value=grant]")
    expect(page.locator(".flash.ok")).to_contain_text("Fortnox är anslutet.")
    page.select_option("select[name=voucher_series]", "K")
    page.select_option("select[name=cost_center]", "REST1")
    page.click("form.card >> text=Spara")
    expect(page.locator(".flash.ok")).to_contain_text("Sparat.")
    page.screenshot(path=SHOTS / "03-settings-connected.png", full_page=True)

    # Map tips to an account picked from the imported chart
    page.click("text=Kontering")
    page.select_option("select[name='acct:tips:']", "2890")
    page.click("form.card >> text=Spara")
    expect(page.locator(".flash.ok")).to_contain_text("Sparat.")
    page.screenshot(path=SHOTS / "04-mapping.png", full_page=True)

    # Enroll a register with a one-time code, as the bridge would
    page.click("text=Kassor")
    page.click("#new-code")
    code = page.locator("#enrollment-code").inner_text()
    enrolled = httpx.post(
        f"{base}/api/v1/enroll", json={"code": code, "register_id": "Kassa 1", "control_unit_id": "CU-0001"}
    )
    assert enrolled.status_code == 201
    page.reload()
    expect(page.locator("#registers")).to_contain_text("Kassa 1")
    page.screenshot(path=SHOTS / "05-registers.png")

    # A Z-report posted to the API appears with its voucher preview
    token = enrolled.json()["device_token"]
    posted = httpx.post(
        f"{base}/api/v1/z-reports", json=z_report(7), headers={"Authorization": f"Bearer {token}"}
    )
    assert posted.status_code == 201
    page.click("text=Exporter")
    page.click("#exports a")
    expect(page.locator("#voucher")).to_contain_text("1 050,00 kr")
    expect(page.locator("#voucher")).to_contain_text("REST1")
    page.screenshot(path=SHOTS / "06-voucher-preview.png", full_page=True)
    page.close()

    # The agency admin checks every store; the series turns non-manual in Fortnox; the row turns red
    admin = browser.new_page()
    admin.goto(f"{base}/login")
    admin.fill("input[name=email]", admin_email)
    admin.fill("input[name=password]", PASSWORD)
    admin.click("form.card button")
    expect(admin.locator("h1")).to_contain_text("Byråöversikt")
    admin.click("#check-all")
    expect(admin.locator("#check-all-progress")).to_contain_text("köad")
    run_background_jobs()  # the page polls and shows the results as they come
    row = admin.locator(f"tr[data-store='{store_id}']")
    expect(row.locator("td.pf").first).to_have_class("pf ok")
    expect(admin.locator("#check-all-progress")).to_contain_text("Alla 1 butiker kontrollerade")
    admin.screenshot(path=SHOTS / "07-agency-green.png", full_page=True)
    with state.lock:
        for (_, code), series in state.tenants[100001].series.items():
            if code == "K":
                series.manual = False
    admin.click("#check-all")
    run_background_jobs()
    expect(row.locator("td.pf").first).to_have_class("pf failed")
    expect(row).to_have_class("problem")
    admin.screenshot(path=SHOTS / "08-agency-red.png", full_page=True)
    admin.close()
