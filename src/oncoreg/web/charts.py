"""Vega-Lite charts rendered in the browser by the vendored vega-embed, specs built in Python.

``vega_lite(spec)`` returns a :class:`Chart`; a template shows it with ``{{ chart(c) }}`` (the macro in
``templates/macros.html``): the spec travels as JSON in a ``<script type="application/json">`` element and
``static/app.js`` embeds every such element (also after htmx swaps), using Vega's expression interpreter
so the strict Content-Security-Policy (no eval) holds.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # an identifier only; nothing is fetched


@dataclass(frozen=True)
class Chart:
    """A Vega-Lite spec and the id of the element it is drawn in."""

    spec: Mapping[str, Any]
    element_id: str

    def spec_json(self) -> Markup:
        """The spec as JSON safe to put inside a ``<script>`` element."""
        text = json.dumps(self.spec, default=str)
        return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def vega_lite(spec: Mapping[str, Any], *, element_id: str | None = None) -> Chart:
    """A chart from a Vega-Lite spec (``$schema`` added when missing)."""
    full = {"$schema": SCHEMA, **spec}
    return Chart(spec=full, element_id=element_id or f"chart-{secrets.token_hex(4)}")


def bar_chart(
    rows: Sequence[Mapping[str, Any]], *, x: str, y: str, title: str, x_title: str = "", y_title: str = ""
) -> Chart:
    """A horizontal bar chart of ``rows`` (``x`` quantitative, ``y`` nominal)."""
    return vega_lite(
        {
            "title": title,
            "data": {"values": list(rows)},
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": x, "type": "quantitative", "title": x_title or x},
                "y": {"field": y, "type": "nominal", "sort": "-x", "title": y_title or y},
            },
            "width": "container",
        }
    )
