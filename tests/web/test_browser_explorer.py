"""In Chromium: view a statistics chart (explorer), the data-quality page and the screening desk.

Like ``test_browser.py``: ``oncoreg serve`` on a loopback port over a SQLite store seeded here (a few dozen
tumours, frozen into ``data/snapshots``) and screening files in ``data/screening``. Screenshots go to
the screenshots folder (``make screenshots``: docs/screenshots/).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, needs_chromium, serving
from test_screening_desk import OTHER, screening_files

from oncoreg.registry import Registry
from oncoreg.registry.schemas import PersonCreate, TumourCreate
from oncoreg.snapshot import freeze
from oncoreg.web import users
from oncoreg.web.roles import Role
from oncoreg.web.schemas import UserCreate

pytestmark = needs_chromium
PASSWORD = "browser test password"
SITES = [
    ("C50.4", "8500", 2),
    ("C18.7", "8140", 1),
    ("C61.9", "8140", 1),
    ("C34.1", "8070", 2),
    ("C44.3", "8720", 1),
]


def _seed(data: Path) -> int:
    registry = Registry.create(f"sqlite:///{data / 'registry.sqlite'}")
    try:
        for role in (Role.statistician, Role.researcher, Role.screening_coordinator):
            users.create_user(
                registry,
                actor="browser test",
                user=UserCreate(
                    user_name=str(role), full_name=f"Test {role}", password=PASSWORD, roles={role}
                ),
            )
        with registry.session(user="browser test", purpose="set-up", channel="batch") as reg:
            woman = reg.add_person(
                person=PersonCreate(birth_date=date(1986, 10, 15), sex=2), reason="population register"
            )
            for i in range(90):
                topography, morphology, sex = SITES[i % len(SITES)]
                person = reg.add_person(
                    person=PersonCreate(birth_date=date(1940 + i % 40, 1 + i % 12, 1 + i % 28), sex=sex),
                    reason="population register",
                )
                reg.add_tumour(
                    tumour=TumourCreate(
                        person_id=person.person_id,
                        incidence_date=date(2015 + i % 10, 1 + i % 12, 10),
                        topography=topography,
                        morphology=morphology,
                        behaviour=3,
                        basis=7 if i % 9 else 2,
                    ),
                    reason="consolidation",
                )
        freeze(registry=registry, out_dir=data / "snapshots" / "2025-03-01")
        return woman.person_id
    finally:
        registry.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """``oncoreg serve`` over the seeded data directory; yields the base URL and a woman's person id."""
    data = tmp_path / "data"
    data.mkdir()
    woman = _seed(data)
    screening_files(data / "screening", woman)
    with serving(data, tmp_path) as (base, _log):
        yield base, woman


def _browser(playwright: object, profile: Path) -> object:
    return playwright.chromium.launch_persistent_context(  # type: ignore[attr-defined]
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 900},
    )


def _sign_in(page: object, base: str, user: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("#user_name", user)  # type: ignore[attr-defined]
    page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_view_a_statistics_chart(server: tuple[str, int], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, _ = server
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = _browser(playwright, tmp_path / "profile")
        try:
            page = context.new_page()  # type: ignore[attr-defined]
            _sign_in(page, base, "statistician")
            page.click("nav >> text=Explorer")
            expect(page).to_have_url(f"{base}/explorer")
            bars = page.locator("#explorer-chart[data-rendered='1'] svg g.mark-rect path")
            expect(bars.first).to_be_visible(timeout=20000)
            assert bars.count() >= 2  # one bar per period and sex with data

            page.select_option("#measure", "trends")
            page.select_option("#sex", "0")
            page.click("#explorer-form button[type=submit]")
            expect(page).to_have_url(
                f"{base}/explorer?measure=trends&entity=980&sex=0&period=&region=&standard=world"
            )
            points = page.locator("#explorer-chart[data-rendered='1'] svg g.mark-symbol path")
            expect(points.first).to_be_visible(timeout=20000)
            assert points.count() >= 5  # one point per year 2015-2024
            expect(page.locator("#explorer-table tbody tr")).to_have_count(10)
            expect(page.locator("#csv-link")).to_have_attribute(
                "href", "/explorer/data.csv?measure=trends&entity=980&sex=0&period=&region=&standard=world"
            )
            page.screenshot(path=str(SCREENSHOTS / "explorer.png"), full_page=True)

            page.click("nav >> text=Data quality")
            expect(page.locator("#quality-chart[data-rendered='1'] svg")).to_be_visible(timeout=20000)
            expect(page.locator("#quality-table")).to_contain_text("All sites")
            page.screenshot(path=str(SCREENSHOTS / "quality.png"), full_page=True)
        finally:
            context.close()  # type: ignore[attr-defined]


def test_researcher_sees_the_suppression_note(server: tuple[str, int], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, _ = server
    with sync_playwright() as playwright:
        context = _browser(playwright, tmp_path / "profile")
        try:
            page = context.new_page()  # type: ignore[attr-defined]
            _sign_in(page, base, "researcher")
            page.goto(f"{base}/explorer?measure=counts&entity=980&sex=1")
            expect(page.locator("#suppression-note")).to_contain_text("suppressed")
            expect(page.locator("#explorer-chart[data-rendered='1'] svg")).to_be_visible(timeout=20000)
        finally:
            context.close()  # type: ignore[attr-defined]


def test_screening_desk(server: tuple[str, int], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, woman = server
    with sync_playwright() as playwright:
        context = _browser(playwright, tmp_path / "profile")
        try:
            page = context.new_page()  # type: ignore[attr-defined]
            _sign_in(page, base, "screening_coordinator")
            page.click("nav >> text=Screening")
            expect(
                page.locator("#kpi-county-chart[data-rendered='1'] svg g.mark-rect path").first
            ).to_be_visible(timeout=20000)
            expect(page.locator("#kpi-table")).to_contain_text("Participation (attendance)")
            page.screenshot(path=str(SCREENSHOTS / "screening-dashboard.png"), full_page=True)

            page.click("#desk-nav >> text=Overdue follow-ups")
            page.fill("#as_of", "2024-12-31")  # default: the latest event, before the failsafe grace ends
            page.click("#overdue-form button[type=submit]")
            expect(page.locator("#overdue-list")).to_contain_text(str(OTHER))
            page.screenshot(path=str(SCREENSHOTS / "screening-overdue.png"), full_page=True)

            page.click("#desk-nav >> text=Invitations and letters")
            expect(page.locator("#batch-summary")).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / "screening-batches.png"), full_page=True)

            page.goto(f"{base}/screening/persons/{woman}")
            page.fill("#purpose", "answering the person's question about an invitation")
            page.click("text=Show timeline")
            expect(page.locator("#next-actions")).to_contain_text("routine_screening")
            expect(page.locator("#timeline")).to_contain_text("hpv_negative")
            page.screenshot(path=str(SCREENSHOTS / "screening-timeline.png"), full_page=True)
        finally:
            context.close()  # type: ignore[attr-defined]
