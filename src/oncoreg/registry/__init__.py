"""The registry store: tables, migrations, history, access log and the ``Registry`` service object.

``from oncoreg.registry import Registry`` gives the service; the identifier helpers live in
``oncoreg.registry.identifiers`` and import without SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oncoreg.registry.service import Registry
    from oncoreg.registry.session import RegistrySession

__all__ = ["Registry", "RegistrySession"]


def __getattr__(name: str) -> Any:
    if name == "Registry":
        from oncoreg.registry.service import Registry

        return Registry
    if name == "RegistrySession":
        from oncoreg.registry.session import RegistrySession

        return RegistrySession
    raise AttributeError(f"module 'oncoreg.registry' has no attribute {name!r}")
