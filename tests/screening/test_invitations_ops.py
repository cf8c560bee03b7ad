"""Target population, invitation scheduling, pause/resume and overdue lists (screening.md §1)."""

from __future__ import annotations

from datetime import date

import polars as pl

from oncoreg.screening.followup import overdue_followups
from oncoreg.screening.invitations import Pause, catch_up, due_letters, invitation_batch, letter_history
from oncoreg.screening.population import target_population


def _persons() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": [1, 2, 3, 4, 5, 6],
            "birth_date": [
                date(1969, 3, 15),
                date(1966, 7, 1),
                date(1969, 5, 2),
                date(1969, 8, 9),
                date(1999, 6, 10),
                date(1980, 1, 1),
            ],
            "sex": [1, 2, 2, 1, 2, 2],
            "county": ["03"] * 6,
            "entry_date": [date(1970, 1, 1)] * 6,
            "exit_date": [None] * 6,
            "reserved": [False, False, True, False, False, False],
        },
        schema_overrides={"exit_date": pl.Date},
    )


def test_colorectal_target_and_first_invitation_in_birth_month_order() -> None:
    # §1.3: 55 to 64, cohorts from 1967, reservation and previous CRC exclude; invited the year they turn
    # 55 in birth-month order.
    tumours = pl.DataFrame({"person_id": [4], "icd10": ["C18.7"], "incidence_date": [date(2023, 1, 1)]})
    target = target_population(
        persons=_persons(), as_of=date(2024, 6, 1), programme="colorectal", tumours=tumours
    )
    reasons = dict(zip(target["person_id"], target["reason"], strict=True))
    assert reasons == {1: None, 2: "cohort", 3: "reserved", 4: "cancer", 5: "too_young", 6: "too_young"}
    empty = letter_history(
        events=pl.DataFrame(
            schema={
                "person_id": pl.Int64,
                "programme": pl.String,
                "date": pl.Date,
                "type": pl.String,
                "test": pl.String,
            }
        )
    )
    due = due_letters(target=target, history=empty, programme="colorectal")
    assert due.row(0, named=True)["due_date"] == date(2024, 3, 1)


def test_colorectal_stops_after_five_rounds_and_after_colonoscopy() -> None:
    target = target_population(persons=_persons(), as_of=date(2032, 6, 1), programme="colorectal")
    target = target.filter(pl.col("person_id") == 1)
    invitations = [
        {
            "person_id": 1,
            "programme": "colorectal",
            "date": date(2024 + 2 * k, 3, 1),
            "type": "invitation",
            "test": "fit",
        }
        for k in range(5)
    ]
    history = letter_history(events=pl.DataFrame(invitations))
    assert due_letters(target=target, history=history, programme="colorectal").height == 0
    scoped = pl.DataFrame(
        [
            *invitations[:1],
            {
                "person_id": 1,
                "programme": "colorectal",
                "date": date(2024, 5, 1),
                "type": "colonoscopy",
                "test": "colonoscopy",
            },
        ]
    )
    assert (
        due_letters(target=target, history=letter_history(events=scoped), programme="colorectal").height == 0
    )


def test_cervix_information_letter_at_25_and_reminder_after_5_years_of_hpv() -> None:
    # §1.2 letters: information letter at 25; reminder when the last test is older than its interval
    target = target_population(persons=_persons(), as_of=date(2024, 6, 20), programme="cervix")
    events = pl.DataFrame(
        [{"person_id": 6, "programme": "cervix", "date": date(2019, 5, 1), "type": "sample", "test": "hpv"}]
    )
    due = due_letters(target=target, history=letter_history(events=events), programme="cervix")
    rows = {r["person_id"]: (r["letter"], r["due_date"]) for r in due.iter_rows(named=True)}
    assert rows[5] == ("information_letter", date(2024, 6, 10))
    assert rows[6] == ("reminder", date(2024, 4, 30))  # 1826 days after 1 May 2019


def test_pause_sends_nothing_then_catches_up_oldest_first() -> None:
    # §1.2: reminders paused in March 2020, restarted 6 May 2020 with a backlog
    due = pl.DataFrame(
        {
            "person_id": [1, 2, 3, 4],
            "programme": ["cervix"] * 4,
            "letter": ["reminder"] * 4,
            "round": [1] * 4,
            "due_date": [date(2020, 3, 20), date(2020, 3, 10), date(2020, 4, 1), date(2020, 5, 6)],
            "county": ["03"] * 4,
        }
    )
    pause = Pause(paused_from=date(2020, 3, 12), resumed_on=date(2020, 5, 6), catch_up_per_day=1)
    assert invitation_batch(due=due, as_of=date(2020, 4, 2), pause=pause).height == 0
    first_day = invitation_batch(due=due, as_of=date(2020, 5, 6), pause=pause)
    assert sorted(first_day["person_id"].to_list()) == [1, 4]  # oldest backlog letter + the regular one
    assert invitation_batch(due=due, as_of=date(2020, 5, 7), pause=pause).filter(pl.col("backlog"))[
        "person_id"
    ].to_list() == [3]
    spread = catch_up(backlog=due.head(3), start=date(2020, 5, 6), per_day=2)
    assert spread["send_date"].to_list() == [date(2020, 5, 6), date(2020, 5, 6), date(2020, 5, 7)]


def test_overdue_positive_fit_without_colonoscopy() -> None:
    # §1.3: call-in within 4 weeks; after that plus the grace period the person is on the failsafe list
    events = pl.DataFrame(
        [
            {
                "person_id": 1,
                "programme": "colorectal",
                "episode": 1,
                "date": date(2024, 1, 10),
                "type": "fit_result",
                "result": "positive",
            },
            {
                "person_id": 2,
                "programme": "colorectal",
                "episode": 1,
                "date": date(2024, 1, 10),
                "type": "fit_result",
                "result": "positive",
            },
            {
                "person_id": 2,
                "programme": "colorectal",
                "episode": 1,
                "date": date(2024, 2, 1),
                "type": "colonoscopy",
                "result": "normal",
            },
        ]
    )
    overdue = overdue_followups(events=events, as_of=date(2024, 4, 1), grace_days=30)
    assert overdue["person_id"].to_list() == [1]
    assert overdue["due_date"][0] == date(2024, 2, 7)
    assert overdue["days_overdue"][0] == 54
