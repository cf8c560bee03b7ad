"""The statistics explorer and the data-quality pages (statisticians and researchers; aggregates only).

Everything is read from the latest snapshot under ``settings.data_dir / "snapshots"`` through tables
computed once per snapshot (:mod:`oncoreg.web.explorer`); never from the live store. Researchers get
counts below ``settings.small_count_threshold`` suppressed, and the page says so.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from oncoreg.config import Settings
from oncoreg.errors import NotFound
from oncoreg.web.charts import vega_lite
from oncoreg.web.deps import require
from oncoreg.web.explorer import Selection, SnapshotTables, TablesCache, choices, explore, latest_snapshot
from oncoreg.web.explorer.query import MEASURES, SEXES, STANDARDS, display_rows, to_csv
from oncoreg.web.explorer.snapshots import RATE_TABLE_FILE
from oncoreg.web.roles import Role
from oncoreg.web.schemas import UserPublic
from oncoreg.web.templating import render

router = APIRouter(tags=["explorer"])
Analyst = Annotated[UserPublic, Depends(require(Role.statistician, Role.researcher))]
CACHE = TablesCache()
NO_SNAPSHOT = "no snapshot yet: freeze one with `oncoreg snapshot --out <data_dir>/snapshots/<name>`"


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def snapshot_tables(settings: Settings) -> SnapshotTables | None:
    """The latest snapshot's tables (computed on first use, then from memory or the disk cache)."""
    info = latest_snapshot(settings.data_dir)
    if info is None:
        return None
    return CACHE.tables(info, rate_table_path=settings.data_dir / RATE_TABLE_FILE)


def threshold_for(user: UserPublic, settings: Settings) -> int | None:
    """The small-count threshold applied to ``user``: researchers get it; statisticians and registrars
    (who see the registry's records anyway) see every count."""
    if user.roles & {Role.statistician, Role.registrar}:
        return None
    return settings.small_count_threshold


class SelectionQuery:
    """The explorer's query parameters."""

    def __init__(
        self,
        measure: Annotated[
            Literal["counts", "rates", "asr", "trends", "survival", "prevalence"], Query()
        ] = "asr",
        entity: Annotated[int, Query(ge=0, le=9999)] = 980,
        sex: Annotated[int, Query(ge=0, le=2)] = 0,
        period: Annotated[str, Query(max_length=20)] = "",
        region: Annotated[str, Query(max_length=4)] = "",
        standard: Annotated[Literal["world", "europe2013", "nordic"], Query()] = "world",
    ) -> None:
        self.selection = Selection(
            measure=measure, entity=entity, sex=sex, period=period, region=region, standard=standard
        )


SelectionDep = Annotated[SelectionQuery, Depends()]


@router.get("/explorer", response_class=HTMLResponse, include_in_schema=False)
def explorer(request: Request, user: Analyst, query: SelectionDep) -> Response:
    """Pick measure, entity, sex, period and region; a chart, a table and a CSV link."""
    settings = settings_of(request)
    loaded = snapshot_tables(settings)
    if loaded is None:
        return render(request, "explorer/explorer.html", {"missing": NO_SNAPSHOT})
    answer = explore(
        tables=loaded.tables, selection=query.selection, small_count_threshold=threshold_for(user, settings)
    )
    context = {
        "snapshot": loaded.snapshot,
        "choices": choices(loaded.tables),
        "answer": answer,
        "rows": display_rows(answer),
        "chart_spec": vega_lite(answer.spec, element_id="explorer-chart") if answer.spec else None,
        "measures": MEASURES,
        "sexes": SEXES,
        "standards": STANDARDS,
        "csv_url": f"/explorer/data.csv?{answer.selection.query_string()}",
    }
    return render(request, "explorer/explorer.html", context)


@router.get("/explorer/data.csv", include_in_schema=False)
def explorer_csv(request: Request, user: Analyst, query: SelectionDep) -> Response:
    """The explorer's current table as CSV (suppressed for researchers like the page)."""
    settings = settings_of(request)
    loaded = snapshot_tables(settings)
    if loaded is None:
        raise NotFound(NO_SNAPSHOT)
    answer = explore(
        tables=loaded.tables, selection=query.selection, small_count_threshold=threshold_for(user, settings)
    )
    name = f"oncoreg-{loaded.snapshot.name}-{answer.selection.measure}-{answer.selection.entity}.csv"
    return Response(
        to_csv(answer),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
