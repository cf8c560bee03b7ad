"""The registrar workbench in Debian's Chromium (Playwright, headless) over a store built by the real
chain: a tiny simulated country run through ``run_pipeline`` (ingest → link → consolidate → check).

Signs in, resolves a review task with a reason and sees it in the history, overrides a finding, fixes and
re-ingests a quarantined message. Screenshots of the workbench pages go to the
screenshots folder (``make screenshots``: docs/screenshots/).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, needs_chromium, serving
from typer.testing import CliRunner

from oncoreg.registry import Registry
from oncoreg.web import users
from oncoreg.web.roles import Role
from oncoreg.web.schemas import UserCreate

PASSWORD = "browser test password"

pytestmark = needs_chromium


def _bad_date(registry: Registry) -> str:
    """A malformed date (``DD.MM.YYYY``) that put some CSV message into quarantine."""
    import re

    import sqlalchemy as sa

    found: list[str] = []
    with registry.engine.connect() as connection:
        reasons = connection.execute(sa.text("SELECT reasons FROM quarantine ORDER BY message_id")).scalars()
        for row in reasons:
            for reason in json.loads(row) if isinstance(row, str) else row:
                value = str(reason.get("value", ""))
                if re.fullmatch(r"\d\d\.\d\d\.\d{4}", value):
                    found.append(value)
    # a resent malformed message carries the same bad date: take one that only one message has
    unique = [value for value in found if found.count(value) == 1]
    if not unique:
        pytest.fail("the simulated country has no single quarantined message with a malformed date")
    return unique[0]


def _seed(data: Path) -> str:
    """Simulate a tiny country, run the pipeline on it, add a registrar; return a quarantined bad date."""
    from oncoreg.cli import app
    from oncoreg.pipeline import run_pipeline

    country = data.parent / "country"
    # seed 5: a tiny country whose run leaves review tasks open (at this scale some seeds leave none)
    args = ["simulate", "--scale", "0.002", "--seed", "5", "--start-year", "2020", "--end-year", "2022"]
    result = CliRunner().invoke(app, [*args, "--out", str(country)])
    assert result.exit_code == 0, result.output
    registry = Registry.create(f"sqlite:///{data / 'registry.sqlite'}")
    try:
        report = run_pipeline(registry=registry, directory=country, user="pipeline", as_of=date(2026, 1, 1))
        assert report.quarantined > 0
        assert sum(report.review_tasks_open.values()) > 0
        bad_date = _bad_date(registry)
        users.create_user(
            registry,
            actor="browser test",
            user=UserCreate(
                user_name="kari", full_name="Kari Registrar", password=PASSWORD, roles={Role.registrar}
            ),
        )
    finally:
        registry.dispose()
    return bad_date


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """``oncoreg serve`` over the pipeline-built store on a free port; yields the base URL, its log and a
    malformed date that put one message into quarantine."""
    data = tmp_path / "data"
    bad_date = _seed(data)
    with serving(data, tmp_path) as (base, log):
        yield base, log, bad_date


def test_resolve_override_and_fix_quarantine(server: tuple[str, Path, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, log, bad_date = server
    good_date = "-".join(reversed(bad_date.split(".")))
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
            page.goto(f"{base}/workbench")
            expect(page).to_have_url(f"{base}/login?next=/workbench")
            page.fill("#user_name", "kari")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{base}/workbench")
            expect(page.locator("#tasks tbody tr").first).to_contain_text("tumour")
            page.screenshot(path=str(SCREENSHOTS / "workbench-queue.png"), full_page=True)

            # resolve a consolidation conflict with a reason and see it in the tumour's history
            page.locator("#tasks tbody tr:has-text('tumour') a").first.click()
            expect(page.locator("h1")).to_contain_text("Review task")
            page.click("text=Assign to me")
            expect(page.locator("#task-state")).to_have_text("assigned")
            page.screenshot(path=str(SCREENSHOTS / "workbench-task.png"), full_page=True)
            page.fill("#reason", "subsite confirmed from the pathology report")
            page.click("#resolve-form button[type=submit]")
            expect(page.locator("h1")).to_contain_text("History of tumour")
            expect(page.locator("#decisions")).to_contain_text("subsite confirmed from the pathology report")
            expect(page.locator("#decisions")).to_contain_text("kari")
            page.fill("#as_of", "2000-01-01")
            page.click("#as-of-form button[type=submit]")
            expect(page.locator("#as-of-state")).to_contain_text("did not exist")
            page.screenshot(path=str(SCREENSHOTS / "workbench-history.png"), full_page=True)

            # override a query finding
            page.goto(f"{base}/workbench?show=findings")
            page.locator("#findings tr:has(td.result-query) a").first.click()
            expect(page.locator("#comparison")).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / "workbench-tumour.png"), full_page=True)
            form = page.locator("#tumour-findings tr:has(td.result-query) form").first
            form.locator("input[name=reason]").fill("clinical diagnosis accepted: no biopsy taken")
            form.locator("button").click()
            expect(page.locator(".flash")).to_contain_text("overridden")
            expect(page.locator("#tumour-findings")).to_contain_text(
                "overridden by kari: clinical diagnosis accepted"
            )

            # fix and re-ingest a quarantined message (a death date in the wrong format)
            page.goto(f"{base}/workbench?show=quarantine")
            page.locator(f"#quarantine tr:has-text('{bad_date}') a").first.click()
            page.fill("#purpose", "correcting a quarantined message")
            page.click("text=Show message")
            content = page.input_value("#content")
            assert bad_date in content
            page.fill("#content", content.replace(bad_date, good_date))
            page.fill("#fix-reason", "date format confirmed with the sender")
            page.screenshot(path=str(SCREENSHOTS / "workbench-quarantine.png"), full_page=True)
            page.click("#fix-form button[type=submit]")
            expect(page.locator(".flash")).to_contain_text("corrected and re-ingested: accepted")
            expect(page.locator("#quarantine")).not_to_contain_text(bad_date)
        finally:
            context.close()
    server_log = log.read_text()
    assert '"route": "/workbench/quarantine/{message_id}/fix"' in server_log
    assert bad_date not in server_log
