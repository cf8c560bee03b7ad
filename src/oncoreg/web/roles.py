"""The roles of DESIGN §5, as seeded by migration 0001 in the ``roles`` table."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A role a user holds; routes declare which roles may use them."""

    registrar = "registrar"
    statistician = "statistician"
    screening_coordinator = "screening_coordinator"
    quality_registry = "quality_registry"
    researcher = "researcher"
    admin = "admin"

    @property
    def label(self) -> str:
        """The role's name for people."""
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.registrar: "Registrar",
    Role.statistician: "Statistician",
    Role.screening_coordinator: "Screening coordinator",
    Role.quality_registry: "Quality-registry staff",
    Role.researcher: "Researcher",
    Role.admin: "Administrator",
}
ALL_ROLES: frozenset[Role] = frozenset(Role)
