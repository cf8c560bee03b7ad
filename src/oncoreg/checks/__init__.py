"""Edit checks as data-driven rules (IARC/IACR Check content with CanReg5's bugs fixed) and overrides.

Public API: :func:`run_checks` (long findings per tumour and rule), :func:`summarise` (worst result and the
list of findings per tumour), :func:`apply_overrides` (reviewed query/rare findings become ok), the rule
catalogue :func:`rule_catalogue` and :data:`RESULT_LEVELS`. Rules and their tables live in ``data/``
(see ``data/README.md``); ``docs/checks.md`` describes every rule family.
"""

from __future__ import annotations

from oncoreg.checks.engine import FINDING_COLUMNS, apply_overrides, run_checks, summarise
from oncoreg.checks.rules import RESULT_LEVELS, rule_catalogue

__all__ = ["FINDING_COLUMNS", "RESULT_LEVELS", "apply_overrides", "rule_catalogue", "run_checks", "summarise"]
