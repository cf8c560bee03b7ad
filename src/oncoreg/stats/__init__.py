"""Cancer statistics over frozen snapshot tables: rates, survival, prevalence, trends, projections.

Each statistic lives in its own module (``oncoreg.stats.survival``, ``oncoreg.stats.ratetable``, ...); import
from there. Functions are pure: tables in, tables out (DESIGN §7).
"""

from __future__ import annotations
