"""One router per area; ``oncoreg.web.app`` includes each of ``ROUTERS``."""
