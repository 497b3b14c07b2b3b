"""In headless Chromium (Playwright, Debian's chromium): an agency admin adds a store and invites a
manager for it on the stores-and-users page; the manager signs in with the temporary password shown once,
chooses their own, and sees that store only. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from backoffice.app import create_app
from tests.backoffice.factories import PASSWORD, agency_with_store, app_settings
from tests.backoffice.test_browser import SHOTS, browser, served  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_admin_adds_a_store_and_its_manager_who_sees_only_that_store(browser, sqlite_engine):  # noqa: F811
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    with Session(sqlite_engine) as session:
        _, first_store, admin, _ = agency_with_store(session, "Exempelkedjan")
        session.commit()
        first_store_id, admin_email = first_store.id, admin.email

    def make(base_url: str):
        settings = app_settings(sqlite_engine.url.render_as_string()).replace(
            web={"public_url": base_url, "secure_cookies": False}
        )
        return create_app(settings, engine=sqlite_engine)

    with served(make) as base:
        page = browser.new_page()
        page.goto(f"{base}/login")
        page.fill("input[name=email]", admin_email)
        page.fill("input[name=password]", PASSWORD)
        page.click("form.card button")
        page.click("text=Butiker och användare")
        expect(page.locator("h1")).to_have_text("Butiker och användare")

        # A wrong check digit first: refused with the digit it should have, the form kept
        form = page.locator("#add-store-form")
        form.locator("input[name=name]").fill("Exempelkedjan Södermalm")
        form.locator("input[name=org_number]").fill("556677-8809")
        form.locator("#add-store").click()
        expect(page.locator(".flash.error")).to_contain_text("the last digit should be 8")
        form.locator("input[name=org_number]").fill("556677-8808")
        form.locator("#add-store").click()
        expect(page.locator(".flash.ok")).to_contain_text("Butiken Exempelkedjan Södermalm är tillagd.")

        invite = page.locator("#invite-form")
        invite.locator("input[name=email]").fill("sara@exempelkedjan.se")
        invite.locator("input[name=name]").fill("Sara Chef")
        invite.locator("select[name=role]").select_option("store_manager")
        invite.locator("label", has_text="Exempelkedjan Södermalm").locator("input").check()
        invite.locator("#invite").click()
        expect(page.locator("#invited")).to_contain_text("sara@exempelkedjan.se")
        password = page.locator("#temporary-password").inner_text().strip()
        expect(page.locator("tr[data-user='sara@exempelkedjan.se']")).to_contain_text("Butikschef")
        page.screenshot(path=SHOTS / "20-admin-added-store-and-manager.png", full_page=True)
        page.close()

        manager = browser.new_page()
        manager.goto(f"{base}/login")
        manager.fill("input[name=email]", "sara@exempelkedjan.se")
        manager.fill("input[name=password]", password)
        manager.click("form.card button")
        # The admin chose that password: the manager picks their own first.
        expect(manager.locator("#must-change")).to_be_visible()
        manager.fill("input[name=current_password]", password)
        manager.fill("input[name=new_password]", "Saras eget lösenord")
        manager.fill("input[name=repeat_password]", "Saras eget lösenord")
        manager.click("#password-form button")
        # One store: the manager lands on it, and the store list holds it alone.
        expect(manager.locator("h1")).to_contain_text("Exempelkedjan Södermalm")
        expect(manager.locator("header nav")).not_to_contain_text("Butiker och användare")
        manager.goto(f"{base}/")  # the store list: with one store, straight to it
        expect(manager.locator("h1")).to_contain_text("Exempelkedjan Södermalm")
        manager.screenshot(path=SHOTS / "21-manager-sees-only-their-store.png", full_page=True)
        assert manager.goto(f"{base}/stores/{first_store_id}/").status == 404
        assert manager.goto(f"{base}/agency/people/").status == 404
        manager.close()
