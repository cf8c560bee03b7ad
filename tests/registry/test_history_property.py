"""Property: reconstructing a person or tumour as of any recorded time gives exactly the state then.

Random edit sequences (updates of persons and tumours, tumour deletion, person deletion) run against the
store with a step clock; an independent in-test model applies the same edits to plain dicts. For every
recorded time, a moment between edits, and a moment before creation, ``person(as_of=)`` and
``tumour(as_of=)`` must equal the model's state then (None when not existing).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncoreg.registry import Registry
from oncoreg.registry.identifiers import generate_identifiers
from oncoreg.registry.schemas import PersonCreate, PersonUpdate, TumourCreate, TumourUpdate

IDENTIFIERS = generate_identifiers(
    birth_dates=np.full(200, np.datetime64("1950-06-01")), sexes=np.full(200, 2), rng=np.random.default_rng(5)
)

names = st.text(alphabet="abcæøå ", min_size=1, max_size=8)
person_changes = st.fixed_dictionaries(
    {},
    optional={
        "first_name": names,
        "last_name": names,
        "sex": st.sampled_from([1, 2, 9]),
        "vital_status": st.sampled_from(["alive", "dead", "emigrated", "unknown"]),
        "death_date": st.none() | st.dates(date(1990, 1, 1), date(2030, 1, 1)),
        "reserved_risk_factors": st.booleans(),
    },
)
tumour_changes = st.fixed_dictionaries(
    {},
    optional={
        "topography": st.sampled_from(["C18.0", "C50.9", "C61.9"]),
        "morphology": st.sampled_from(["8000", "8140", "8500"]),
        "grade": st.none() | st.integers(1, 4),
        "incidence_date": st.dates(date(1990, 1, 1), date(2030, 1, 1)),
        "registration_status": st.sampled_from(["provisional", "confirmed"]),
    },
)
edits = st.lists(
    st.one_of(
        st.tuples(st.just("person"), person_changes),
        st.tuples(st.just("tumour"), tumour_changes),
        st.tuples(st.just("delete_tumour"), st.just({})),
        st.tuples(st.just("delete_person"), st.just({})),
    ),
    max_size=12,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=edits)
def test_state_as_of_any_recorded_time_is_the_state_then(
    registry: Registry, clock: Any, edits: list[tuple[str, dict[str, Any]]]
) -> None:
    identifier = IDENTIFIERS.pop()
    create = PersonCreate(identifier=identifier, first_name="start", sex=2, birth_date=date(1950, 6, 1))
    with registry.session(user="prop", purpose="property test") as reg:
        before_all = clock.now
        person = reg.add_person(person=create, reason="create")
        tumour = reg.add_tumour(
            tumour=TumourCreate(
                person_id=person.person_id,
                incidence_date=date(2020, 1, 1),
                topography="C50.9",
                morphology="8500",
                behaviour=3,
                basis=7,
            ),
            reason="create",
        )
        model_person: dict[str, Any] | None = {
            **create.model_dump(exclude={"identifier"}),
            "person_id": person.person_id,
            "identifier": identifier,
            "identifier_type": "fnr",
            "identifier_scheme": "pre2032",
            "version": 1,
        }
        model_tumour: dict[str, Any] | None = {
            **TumourCreate.model_validate(tumour.model_dump(exclude={"tumour_id", "version"})).model_dump(),
            "tumour_id": tumour.tumour_id,
            "version": 1,
        }
        timeline = [(clock.now, dict(model_person), dict(model_tumour))]
        for kind, change in edits:
            if kind == "person" and model_person is not None:
                reg.update_person(
                    person.person_id,
                    changes=PersonUpdate(**change),
                    version=model_person["version"],
                    reason="edit",
                )
                model_person = {**model_person, **change, "version": model_person["version"] + 1}
            elif kind == "tumour" and model_tumour is not None:
                reg.update_tumour(
                    tumour.tumour_id,
                    changes=TumourUpdate(**change),
                    version=model_tumour["version"],
                    reason="edit",
                )
                model_tumour = {**model_tumour, **change, "version": model_tumour["version"] + 1}
            elif kind == "delete_tumour" and model_tumour is not None:
                reg.delete_tumour(tumour.tumour_id, version=model_tumour["version"], reason="delete")
                model_tumour = None
            elif kind == "delete_person" and model_person is not None and model_tumour is None:
                reg.delete_person(person.person_id, version=model_person["version"], reason="delete")
                model_person = None
            else:
                continue
            timeline.append(
                (clock.now, model_person and dict(model_person), model_tumour and dict(model_tumour))
            )

        def check(at: datetime, expected_person: Any, expected_tumour: Any) -> None:
            got_person = reg.person(person.person_id, as_of=at)
            got_tumour = reg.tumour(tumour.tumour_id, as_of=at)
            assert (got_person and got_person.model_dump()) == expected_person
            assert (got_tumour and got_tumour.model_dump()) == expected_tumour

        check(before_all, None, None)
        for at, expected_person, expected_tumour in timeline:
            check(at, expected_person, expected_tumour)
            check(at + timedelta(milliseconds=500), expected_person, expected_tumour)
