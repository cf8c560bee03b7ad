"""Data-quality indicator pages (MV%, DCO%, PSU%, age unknown, M:I, timeliness) from the latest snapshot.

Statisticians, researchers (small counts suppressed) and registrars, who chase what the indicators show.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from oncoreg.errors import NotFound
from oncoreg.web.charts import vega_lite
from oncoreg.web.deps import require
from oncoreg.web.explorer import quality_view
from oncoreg.web.explorer.quality import display_rows
from oncoreg.web.roles import Role
from oncoreg.web.routers.explorer import NO_SNAPSHOT, settings_of, snapshot_tables, threshold_for
from oncoreg.web.schemas import UserPublic
from oncoreg.web.templating import render

router = APIRouter(tags=["quality"])
QualityReader = Annotated[UserPublic, Depends(require(Role.statistician, Role.researcher, Role.registrar))]
ViewQuery = Annotated[Literal["entity", "county"], Query()]
PeriodQuery = Annotated[str, Query(max_length=20)]


@router.get("/quality", response_class=HTMLResponse, include_in_schema=False)
def quality(
    request: Request, user: QualityReader, view: ViewQuery = "entity", period: PeriodQuery = ""
) -> Response:
    """The indicators of one year by entity or county, and the all-sites trend."""
    settings = settings_of(request)
    loaded = snapshot_tables(settings)
    if loaded is None:
        return render(request, "quality/quality.html", {"missing": NO_SNAPSHOT})
    answer = quality_view(
        tables=loaded.tables, view=view, period=period, small_count_threshold=threshold_for(user, settings)
    )
    context = {
        "snapshot": loaded.snapshot,
        "answer": answer,
        "rows": display_rows(answer),
        "chart_spec": vega_lite(answer.spec, element_id="quality-chart"),
        "csv_url": f"/quality/data.csv?view={answer.view}&period={answer.period}",
    }
    return render(request, "quality/quality.html", context)


@router.get("/quality/data.csv", include_in_schema=False)
def quality_csv(
    request: Request, user: QualityReader, view: ViewQuery = "entity", period: PeriodQuery = ""
) -> Response:
    """The indicators table as CSV."""
    settings = settings_of(request)
    loaded = snapshot_tables(settings)
    if loaded is None:
        raise NotFound(NO_SNAPSHOT)
    answer = quality_view(
        tables=loaded.tables, view=view, period=period, small_count_threshold=threshold_for(user, settings)
    )
    name = f"oncoreg-{loaded.snapshot.name}-quality-{answer.view}-{answer.period}.csv"
    return Response(
        answer.rows.write_csv(float_precision=3),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
