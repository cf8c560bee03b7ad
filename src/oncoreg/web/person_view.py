"""Reads of identifiable person data for the web, through the registry service (logged with purpose).

``person_view`` gathers a person, their tumours and the notifications those were built from; every call
writes an ``access_log`` row (user, time, person, purpose, channel) through
``Registry.session(user=, purpose=, channel=)``. ``access_report`` answers the registered person's right of
access; ``access_report_pdf`` prints it.
"""

from __future__ import annotations

from oncoreg.errors import NotFound
from oncoreg.pdf import Line, render_pdf
from oncoreg.registry import Registry
from oncoreg.registry.schemas import Channel, NotificationPublic
from oncoreg.web.deps import MAX_ID
from oncoreg.web.schemas import AccessReport, PersonView

# Suggestions offered on the purpose form; any other text may be typed.
PURPOSES = (
    "coding review of a new notification",
    "resolving a review task",
    "linkage or multiple-primary question",
    "chasing a missing notification",
    "quality assurance of a tumour record",
    "answering a request from the person (right of access)",
)
ACCESS_REPORT_PURPOSE = "right of access report"


def find_person_id(registry: Registry, *, user: str, purpose: str, channel: Channel, key: str) -> int:
    """The person id for a typed national identifier (11 digits) or registry person id (fewer digits).

    A hit by identifier is logged by the registry; a miss raises NotFound without echoing the identifier.
    """
    key = key.replace(" ", "")
    if key.isdigit() and len(key) < 11:
        if int(key) > MAX_ID:
            raise NotFound("no person with that id")
        return int(key)
    with registry.session(user=user, purpose=purpose, channel=channel) as reg:
        person = reg.person_by_identifier(key)
    if person is None:
        raise NotFound("no person with that identifier")
    return person.person_id


def person_view(
    registry: Registry, *, user: str, purpose: str, channel: Channel, person_id: int
) -> PersonView:
    """The person, their tumours and the notifications linked to those tumours (the read is logged)."""
    with registry.session(user=user, purpose=purpose, channel=channel) as reg:
        person = reg.person(person_id)
        if person is None:  # pragma: no cover - person() raises NotFound for a current read
            raise NotFound(f"person {person_id} does not exist")
        tumours = reg.tumours_of_person(person_id)
        seen: set[int] = set()
        notifications: list[NotificationPublic] = []
        for tumour in tumours:
            for notification_id in reg.tumour_notifications(tumour.tumour_id):
                if notification_id not in seen:
                    seen.add(notification_id)
                    notifications.append(reg.notification(notification_id))
    notifications.sort(key=lambda n: n.notification_id)
    return PersonView(person=person, tumours=tumours, notifications=notifications)


def access_report(
    registry: Registry, *, user: str, purpose: str, channel: Channel, person_id: int
) -> AccessReport:
    """Who accessed the person's data, when, why and how (producing it is itself logged)."""
    stated = f"{ACCESS_REPORT_PURPOSE}: {purpose}" if purpose != ACCESS_REPORT_PURPOSE else purpose
    with registry.session(user=user, purpose=stated, channel=channel) as reg:
        person = reg.person(person_id)
        if person is None:  # pragma: no cover - person() raises NotFound for a current read
            raise NotFound(f"person {person_id} does not exist")
        records = reg.access_report(person_id)
    return AccessReport(person=person, records=records, produced_at=registry.clock(), produced_by=user)


def access_report_pdf(report: AccessReport) -> bytes:
    """The access report as a printable PDF."""
    person = report.person
    name = " ".join(part for part in (person.first_name, person.last_name) if part) or "(no name)"
    columns = (0.0, 120.0, 220.0, 430.0)
    lines = [
        Line(("Access report - who has had access to your data",), size=15, bold=True),
        Line(("Cancer registry: overview of access to registered data (right of access)",), size=9),
        Line(("",)),
        Line(("Person", name), columns=(0.0, 120.0)),
        Line(("Identifier", person.identifier or "none"), columns=(0.0, 120.0)),
        Line(("Birth date", str(person.birth_date or "unknown")), columns=(0.0, 120.0)),
        Line(
            ("Produced", f"{report.produced_at:%Y-%m-%d %H:%M} UTC by {report.produced_by}"),
            columns=(0.0, 120.0),
        ),
        Line(("Entries", str(len(report.records))), columns=(0.0, 120.0)),
        Line(("",)),
        Line(("When (UTC)", "Who", "Purpose", "Channel"), bold=True, columns=columns),
    ]
    lines += [
        Line((f"{r.accessed_at:%Y-%m-%d %H:%M:%S}", r.user_name, r.purpose, r.channel), columns=columns)
        for r in report.records
    ]
    return render_pdf(lines, title=f"Access report, person {person.person_id}")
