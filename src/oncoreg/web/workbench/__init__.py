"""The registrar workbench: the services behind ``web/routers/workbench.py``.

``queue`` (review tasks, check findings and quarantine as one work queue; assignment; resolution),
``records`` (tumour view with notifications side by side and provenance, edits with a reason, history and
as-of, overrides of query/rare findings), ``quarantine`` (show, correct and re-ingest quarantined messages)
and ``persons`` (merge and split). Every function is keyword-only and takes the registry and the acting user;
routes stay thin. Concurrent changes of the same record raise ``ConflictError`` (HTTP 409) naming who
changed it, never a silent overwrite.
"""
