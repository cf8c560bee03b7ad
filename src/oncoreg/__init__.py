"""oncoreg: an information system for a population-based cancer registry."""

from oncoreg.errors import OncoregError

__version__ = "0.1.0"

__all__ = ["OncoregError", "__version__"]
