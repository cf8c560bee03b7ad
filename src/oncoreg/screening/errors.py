"""Errors of the screening module (all under :class:`oncoreg.errors.OncoregError`)."""

from __future__ import annotations

from oncoreg.errors import OncoregError, ValidationFailed


class HistoryInvalid(ValidationFailed):
    """A screening history (HISTORY.json) failed validation; ``problems`` lists every problem."""


class RuleSetError(OncoregError):
    """A programme's rule data is malformed, or no rule covers a situation at the index date."""

    def __init__(self, message: str, *, programme: str = "", rule: str = "") -> None:
        super().__init__(message)
        self.programme = programme
        self.rule = rule
