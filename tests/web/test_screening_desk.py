"""The screening desk: indicators against EU levels, overdue follow-ups, batches, a person's timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from web_helpers import Seeded

from oncoreg.config import Settings
from oncoreg.registry import Registry
from oncoreg.screening.episodes import SCREENING_EVENTS
from oncoreg.web.roles import Role
from oncoreg.web.screening_desk import history_events

Client = Callable[[Role], tuple[TestClient, str]]
OTHER = 900_001  # a person with an overdue colposcopy (not in the registry store)


def _event(**values: object) -> dict[str, object]:
    return {name: values.get(name) for name in SCREENING_EVENTS}


def screening_files(folder: Path, person_id: int) -> None:
    """Events and a population register: a negative HPV test of the seeded woman, an overdue positive,
    and breast rounds in two counties (one invited woman did not attend)."""
    folder.mkdir(parents=True)
    events = [
        _event(
            event_id="C1",
            person_id=person_id,
            programme="cervix",
            episode=1,
            date=date(2024, 3, 1),
            type="sample",
            test="hpv",
            indication="screening",
            result="hpv_negative",
            hpv_genotype="negative",
            recommendation="routine",
            due_date=date(2029, 3, 1),
            age=37,
            county="03",
        ),
        _event(
            event_id="C2",
            person_id=OTHER,
            programme="cervix",
            episode=1,
            date=date(2024, 1, 10),
            type="sample",
            test="cytology",
            indication="screening",
            result="hsil",
            recommendation="colposcopy",
            due_date=date(2024, 2, 10),
            age=40,
            county="46",
        ),
    ]
    for i, (county, attended) in enumerate([("03", True), ("03", True), ("46", True), ("46", False)]):
        pid = 800_000 + i
        events.append(
            _event(
                event_id=f"B{i}a",
                person_id=pid,
                programme="breast",
                episode=1,
                date=date(2024, 4, 1),
                type="invitation",
                due_date=date(2024, 4, 22),
                age=55,
                county=county,
            )
        )
        if attended:
            events.append(
                _event(
                    event_id=f"B{i}b",
                    person_id=pid,
                    programme="breast",
                    episode=1,
                    date=date(2024, 4, 22),
                    type="screen",
                    test="mammography",
                    indication="screening",
                    result="normal",
                    reader1_score=1,
                    reader2_score=1,
                    consensus=False,
                    recall=False,
                    first_screen=False,
                    age=55,
                    county=county,
                )
            )
    pl.DataFrame(events, schema=SCREENING_EVENTS).write_parquet(folder / "screening_events.parquet")
    persons = pl.DataFrame(
        {
            "person_id": [person_id, OTHER, 800_000, 800_001, 800_002, 800_003],
            "birth_date": [date(1986, 10, 15), date(1984, 1, 1), *[date(1969, 1, 1)] * 4],
            "sex": [2] * 6,
            "county": ["03", "46", "03", "03", "46", "46"],
            "entry_date": [None] * 6,
            "exit_date": [None] * 6,
        },
        schema_overrides={"entry_date": pl.Date, "exit_date": pl.Date, "sex": pl.Int8},
    )
    persons.write_parquet(folder / "persons.parquet")


@pytest.fixture
def desk_data(settings: Settings, seeded: Seeded) -> Path:
    folder = settings.data_dir / "screening"
    screening_files(folder, seeded.person_id)
    return folder


def test_without_data_the_desk_says_where_to_put_it(client_for: Client) -> None:
    client, _ = client_for(Role.screening_coordinator)
    for path in ("/screening", "/screening/overdue", "/screening/batches"):
        response = client.get(path)
        assert response.status_code == 200
        assert 'id="no-screening-data"' in response.text


def test_dashboard_compares_with_eu_levels_by_county(client_for: Client, desk_data: Path) -> None:
    client, _ = client_for(Role.screening_coordinator)
    page = client.get("/screening?programme=breast&kpi=BR-PART")
    assert page.status_code == 200, page.text
    assert "Participation (attendance)" in page.text
    assert "75.00" in page.text  # 3 of 4 invited women screened
    assert "desirable" in page.text
    assert 'id="kpi-county-chart"' in page.text
    county_rows = page.text.split('id="county-table"')[1]
    assert "50.00" in county_rows  # county 46: 1 of 2, below the acceptable 70 %
    assert "below acceptable" in county_rows


def test_overdue_list_and_csv(client_for: Client, desk_data: Path) -> None:
    client, _ = client_for(Role.screening_coordinator)
    page = client.get("/screening/overdue?as_of=2024-12-31")
    assert page.status_code == 200
    assert f'href="/screening/persons/{OTHER}"' in page.text
    assert "colposcopy" in page.text
    csv_text = client.get("/screening/overdue.csv?as_of=2024-12-31").text
    assert csv_text.splitlines()[1].startswith(f"{OTHER},cervix,1,2024-01-10,colposcopy,2024-02-10,")


def test_batches_show_tonights_letters(client_for: Client, desk_data: Path) -> None:
    client, _ = client_for(Role.screening_coordinator)
    page = client.get("/screening/batches?as_of=2024-12-31")
    assert page.status_code == 200
    assert 'id="batch-summary"' in page.text
    assert "None stored yet." in page.text


def test_timeline_needs_a_purpose_and_is_logged(
    client_for: Client, desk_data: Path, seeded: Seeded, registry: Registry
) -> None:
    client, token = client_for(Role.screening_coordinator)
    form = client.get(f"/screening/persons/{seeded.person_id}")
    assert "Purpose of this access" in form.text
    assert "1986-10-15" not in form.text
    refused = client.post(
        f"/screening/persons/{seeded.person_id}", data={"purpose": " ", "csrf_token": token}
    )
    assert refused.status_code == 422
    page = client.post(
        f"/screening/persons/{seeded.person_id}",
        data={"purpose": "answering the person's question about an invitation", "csrf_token": token},
    )
    assert page.status_code == 200, page.text
    assert "no-store" in page.headers["cache-control"]
    actions = page.text.split('id="next-actions"')[1].split("</table>")[0]
    assert "routine_screening" in actions
    assert "2029-03-01" in actions  # HPV negative: next sample in 5 years
    assert "hpv_negative" in page.text.split('id="timeline"')[1]
    with registry.session(user="test", purpose="check the access log", channel="batch") as reg:
        purposes = [r.purpose for r in reg.access_report(seeded.person_id)]
    assert "answering the person's question about an invitation" in purposes


def test_history_events_from_registered_events() -> None:
    rows = [
        _event(programme="breast", date=date(2024, 1, 5), type="invitation", due_date=date(2024, 1, 26)),
        _event(
            programme="breast",
            date=date(2024, 1, 26),
            type="screen",
            reader1_score=2,
            reader2_score=1,
            consensus=True,
            recall=True,
        ),
        _event(
            programme="cervix",
            date=date(2024, 2, 1),
            type="sample",
            test="hpv",
            result="hpv_positive",
            hpv_genotype="hpv16_18",
            reflex_cytology="asc_us",
        ),
        _event(programme="colorectal", date=date(2024, 3, 1), type="fit_result", result="positive"),
        _event(programme="colorectal", date=date(2024, 3, 2), type="kit_sent"),
    ]
    assert history_events(rows) == [
        {"date": "2024-01-05", "type": "invitation", "appointment_date": "2024-01-26"},
        {"date": "2024-01-26", "type": "mammogram", "reader1": 2, "reader2": 1, "consensus": "recall"},
        {"date": "2024-02-01", "type": "hpv", "result": "positive", "genotypes": ["16"]},
        {"date": "2024-02-01", "type": "cytology", "result": "ascus"},
        {"date": "2024-03-01", "type": "fit", "above_limit": True},
    ]


def test_other_roles_are_refused(client_for: Client, desk_data: Path) -> None:
    client, _ = client_for(Role.registrar)
    assert client.get("/screening").status_code == 403
