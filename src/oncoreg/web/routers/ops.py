"""Operations: liveness (``/health``) and readiness (``/ready``: store reachable, schema at head)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from oncoreg.web import operations
from oncoreg.web.deps import RegistryDep, public
from oncoreg.web.schemas import Health, Ready

router = APIRouter(tags=["operations"])
Public = Annotated[None, Depends(public())]


@router.get("/health", response_model=Health)
def health(_: Public) -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
def ready(_: Public, registry: RegistryDep) -> JSONResponse:
    """Readiness: the store answers and its schema revision is the one this code expects (else 503)."""
    state = operations.readiness(registry)
    return JSONResponse(state.model_dump(), status_code=200 if state.status == "ready" else 503)
