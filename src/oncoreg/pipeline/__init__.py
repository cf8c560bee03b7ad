"""The registration pipeline: ingest → persons → linkage → consolidation → checks (``oncoreg run``).

``run_pipeline(registry=..., directory=..., user=...)`` returns a :class:`PipelineReport`; see
``docs/pipeline.md``.
"""

from __future__ import annotations

from oncoreg.pipeline.report import STAGES, PipelineReport, Progress
from oncoreg.pipeline.run import run_pipeline

__all__ = ["STAGES", "PipelineReport", "Progress", "run_pipeline"]
