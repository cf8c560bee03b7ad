"""A synthetic Norway with ground truth: population, cancers, deaths, migration, treatments and messages.

Entry point: :func:`oncoreg.simulate.run.simulate`; realism report: :mod:`oncoreg.simulate.realism`;
life table: :mod:`oncoreg.simulate.lifetable`. See docs/simulate.md.
"""

from __future__ import annotations
