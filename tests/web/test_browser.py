"""End-to-end in Debian's Chromium (Playwright, headless) against ``oncoreg serve`` on a loopback port.

Runs on SQLite; skipped only when /usr/bin/chromium is missing (CI installs it). Screenshots of the main
pages go to the screenshots folder (``make screenshots``: docs/screenshots/).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, needs_chromium, serving

from oncoreg.registry import Registry
from oncoreg.registry.schemas import NotificationCreate, PersonCreate, TumourCreate
from oncoreg.web import users
from oncoreg.web.roles import Role
from oncoreg.web.schemas import UserCreate

PASSWORD = "browser test password"
IDENTIFIER = "15108695088"

pytestmark = needs_chromium


def _seed(url: str) -> int:
    registry = Registry.create(url)
    try:
        for role in (Role.registrar, Role.admin):
            users.create_user(
                registry,
                actor="browser test",
                user=UserCreate(
                    user_name=str(role), full_name=f"Test {role}", password=PASSWORD, roles={role}
                ),
            )
        users.create_user(
            registry,
            actor="browser test",
            user=UserCreate(user_name="ola", roles=frozenset({Role.researcher})),
        )
        with registry.session(user="browser test", purpose="set-up", channel="batch") as reg:
            person = reg.add_person(
                person=PersonCreate(
                    identifier=IDENTIFIER,
                    first_name="Sigrid",
                    last_name="Haugland",
                    birth_date=date(1986, 10, 15),
                    sex=2,
                ),
                reason="population register",
            )
            (note,) = reg.add_notifications(
                notifications=[
                    NotificationCreate(
                        source_type="pathology",
                        person_id=person.person_id,
                        institution="Haukeland",
                        sample_date=date(2024, 5, 2),
                        topography="C50.4",
                        morphology="8500",
                        behaviour=3,
                        basis=7,
                    )
                ],
                reason="ingest",
            )
            tumour = reg.add_tumour(
                tumour=TumourCreate(
                    person_id=person.person_id,
                    incidence_date=date(2024, 5, 2),
                    topography="C50.4",
                    morphology="8500",
                    behaviour=3,
                    basis=7,
                ),
                reason="consolidation",
            )
            reg.link_tumour_notification(
                tumour_id=tumour.tumour_id, notification_id=note.notification_id, reason="consolidation"
            )
        return person.person_id
    finally:
        registry.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``oncoreg serve`` in a subprocess on a free port; yields the base URL and its log file."""
    data = tmp_path / "data"
    _seed(f"sqlite:///{data / 'registry.sqlite'}")
    with serving(data, tmp_path) as (base, log):
        yield base, log


def test_sign_in_view_person_access_report_sign_out(server: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, log = server
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
        )
        try:
            page = context.new_page()
            page.goto(f"{base}/persons")
            expect(page).to_have_url(f"{base}/login?next=/persons")
            page.screenshot(path=str(SCREENSHOTS / "login.png"))
            page.fill("#user_name", "registrar")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{base}/persons")

            page.click("nav >> text=Home")
            expect(page.locator(".chart[data-rendered='1'] svg")).to_be_visible(timeout=15000)
            page.screenshot(path=str(SCREENSHOTS / "home.png"))

            page.click("nav >> text=Persons")
            page.fill("#identifier", IDENTIFIER)
            page.fill("#purpose", "coding review of a new notification")
            page.click("text=Show person")
            expect(page.locator("h1")).to_contain_text("Sigrid Haugland")
            expect(page.locator("#tumours")).to_contain_text("C50.4")
            expect(page.locator("#notifications")).to_contain_text("Haukeland")
            page.screenshot(path=str(SCREENSHOTS / "person.png"), full_page=True)

            page.click("text=Access report (who has seen this person's data)")
            page.fill("#purpose", "letter 2025/41")
            page.click("text=Show report")
            log_table = page.locator("#access-log")
            expect(log_table).to_contain_text("coding review of a new notification")
            expect(log_table).to_contain_text("right of access report: letter 2025/41")
            page.screenshot(path=str(SCREENSHOTS / "access-report.png"), full_page=True)

            page.click("text=Sign out")
            expect(page).to_have_url(f"{base}/login")
            page.goto(f"{base}/persons")
            expect(page).to_have_url(f"{base}/login?next=/persons")
        finally:
            context.close()
    server_log = log.read_text()
    assert '"route": "/persons/lookup"' in server_log
    for identifiable in (IDENTIFIER, "Sigrid", "Haugland", "1986-10-15"):
        assert identifiable not in server_log


def test_admin_sets_roles_with_htmx(server: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, _ = server
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
        )
        try:
            page = context.new_page()
            page.goto(f"{base}/login")
            page.fill("#user_name", "admin")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.click("nav >> text=Users")
            expect(page.locator("#users")).to_contain_text("ola")
            page.screenshot(path=str(SCREENSHOTS / "admin-users.png"), full_page=True)
            page.click("#users >> text=ola")
            page.check("#roles-panel input[value=statistician]")
            page.click("text=Save roles")
            expect(page.locator("#roles-panel .saved")).to_have_text("Saved.")  # swapped in by htmx
            page.reload()
            expect(page.locator("#user-history")).to_contain_text("set_roles")
            page.screenshot(path=str(SCREENSHOTS / "admin-user.png"), full_page=True)
        finally:
            context.close()
