"""The one exception root of oncoreg and its families.

Every error a user can cause carries enough context (row, field, value, rule) to be fixed without a
traceback. Validation of a batch collects all its problems into one :class:`ValidationFailed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class OncoregError(Exception):
    """Root of every error oncoreg raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what it holds and which rule it breaks."""

    field: str
    value: str
    rule: str
    text: str
    row: str | None = None

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        return f"{where}{self.field} {self.value!r}: {self.text} [{self.rule}]"


class ValidationFailed(OncoregError):
    """An input failed validation; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid input"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(first + more)


class CodeError(OncoregError):
    """A code is unknown, malformed or not valid in the context given (e.g. sex-specific morphology)."""

    def __init__(self, message: str, *, field: str = "", value: str = "", rule: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.rule = rule


class ConfigError(OncoregError):
    """The settings are unusable (e.g. the default secret key outside development)."""


class NotFound(OncoregError):
    """A record asked for does not exist."""


class ConflictError(OncoregError):
    """Optimistic concurrency: the record changed since the caller read it."""


class PermissionDenied(OncoregError):
    """The acting user's role does not allow the operation."""
