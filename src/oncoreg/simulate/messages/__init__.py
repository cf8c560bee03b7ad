"""The simulator's messages: the files a registry receives, in real formats, with realistic errors.

``write_messages`` turns one calendar year of the simulator's frames (``oncoreg.simulate.schema``) into
pathology reports (HL7 v2.5 ORU^R01), clinical notifications (FHIR R4 QuestionnaireResponse Bundles as
NDJSON, or CSV), death certificates, NPR episodes, radiotherapy and systemic-therapy records and
population-register updates (CSV), and returns the truth about every message written
(``MESSAGES_TRUTH``). ``MessageConfig`` holds the completeness of each stream and every error rate.
The formats are documented in ``docs/formats.md``.
"""

from __future__ import annotations

from oncoreg.simulate.messages.config import MessageConfig
from oncoreg.simulate.messages.writer import FORMATS, PREFIXES, write_messages

__all__ = ["FORMATS", "PREFIXES", "MessageConfig", "write_messages"]
