"""Clinical notifications as FHIR R4 Bundles (type ``collection``), one JSON Bundle per line (NDJSON).

Each Bundle holds a ``Patient`` (no-basis identifier systems: FNR ``urn:oid:2.16.578.1.12.4.1.4.1``, DNR
``urn:oid:2.16.578.1.12.4.1.4.2``, reference/data_access.md §2.2; H-numbers use the hospital-local system
``http://oncoreg.org/fhir/NamingSystem/hnr/<hospital>``), the reporting ``Organization`` and a
``QuestionnaireResponse`` answering oncoreg's clinical notification questionnaire
(:data:`QUESTIONNAIRE`), in the direction of HL7 Norway's draft registry-reporting plan (Questionnaire /
QuestionnaireResponse). ``Bundle.identifier.value`` is the ``message_id``; ``Bundle.timestamp`` and
``QuestionnaireResponse.authored`` are the send time. The JSON is written by string templates over
columns (no per-message objects); tests validate it with ``fhir.resources.R4B``.

Malformed (truth ``malformed``): ``invalid_json`` (the last two characters cut), ``missing_status``
(QuestionnaireResponse.status removed), ``missing_bundle_type`` (Bundle.type removed).
"""

from __future__ import annotations

import polars as pl

from oncoreg.simulate.messages import delays, reference

QUESTIONNAIRE = "http://oncoreg.org/fhir/Questionnaire/klinisk-kreftmelding|1.0"
MESSAGE_ID_SYSTEM = "http://oncoreg.org/fhir/NamingSystem/message-id"
SENDER_SYSTEM = "http://oncoreg.org/fhir/NamingSystem/sender"
ICDO3_SYSTEM = "http://terminology.hl7.org/CodeSystem/icd-o-3"
CODE_SYSTEMS = {
    "grade": "http://oncoreg.org/fhir/CodeSystem/icdo3-grade",
    "laterality": "http://oncoreg.org/fhir/CodeSystem/laterality",
    "stage": "http://oncoreg.org/fhir/CodeSystem/summary-stage",
    "basis": "http://oncoreg.org/fhir/CodeSystem/encr-basis-of-diagnosis",
}
IDENTIFIER_SYSTEMS = {"fnr": "urn:oid:2.16.578.1.12.4.1.4.1", "dnr": "urn:oid:2.16.578.1.12.4.1.4.2"}


def json_string(column: str | pl.Expr) -> pl.Expr:
    """A JSON string literal of a text column (quotes, backslashes and control characters escaped)."""
    expr = pl.col(column) if isinstance(column, str) else column
    expr = (
        expr.cast(pl.String)
        .str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
    )
    for char, code in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        expr = expr.str.replace_all(char, code, literal=True)
    return pl.concat_str(pl.lit('"'), expr, pl.lit('"'))


def _item(link_id: str, text: str, answer: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        pl.lit(f'{{"linkId":"{link_id}","text":"{text}","answer":[{{'), answer, pl.lit("}]}")
    )


def _coding(system: str, code: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        pl.lit(f'"valueCoding":{{"system":"{system}","code":'), json_string(code), pl.lit("}")
    )


def _uuid(year: int, entry: int) -> pl.Expr:
    return pl.format(
        f"urn:uuid:{year:08d}-000{entry}-4000-8000-{{}}", pl.col("content_key").cast(pl.String).str.zfill(12)
    )


def render(messages: pl.DataFrame, *, year: int) -> tuple[pl.Series, dict[str, bytes]]:
    """One Bundle per clinical notification; returns the file of each row and the file contents."""
    names = reference.senders().select(
        pl.col("sender_code").alias("sender"), pl.col("name").alias("_sender_name")
    )
    frame = messages.join(names, on="sender", how="left", maintain_order="left")
    stamp = json_string(delays.local_timestamp("sent_date", "sent_seconds", "%Y-%m-%dT%H:%M:%S%:z"))
    patient_url, org_url, qr_url = _uuid(year, 1), _uuid(year, 2), _uuid(year, 3)
    system = (
        pl.when(pl.col("identifier_type") == "hnr")
        .then(pl.format("http://oncoreg.org/fhir/NamingSystem/hnr/{}", "sender"))
        .otherwise(pl.col("identifier_type").replace_strict(IDENTIFIER_SYSTEMS, default=None))
    )
    identifier = (
        pl.when(pl.col("identifier").is_not_null())
        .then(
            pl.concat_str(
                pl.lit('"identifier":[{"system":'),
                json_string(system),
                pl.lit(',"value":'),
                json_string("identifier"),
                pl.lit("}],"),
            )
        )
        .otherwise(pl.lit(""))
    )
    patient = pl.concat_str(
        pl.lit('{"fullUrl":"'),
        patient_url,
        pl.lit('","resource":{"resourceType":"Patient",'),
        identifier,
        pl.lit('"name":[{"family":'),
        json_string("last_name"),
        pl.lit(',"given":['),
        json_string("first_name"),
        pl.lit(']}],"gender":'),
        json_string(pl.col("sex").replace_strict({1: "male", 2: "female"}, default="unknown")),
        pl.lit(',"birthDate":'),
        json_string(pl.col("birth_date").dt.strftime("%Y-%m-%d")),
        pl.lit("}}"),
    )
    organization = pl.concat_str(
        pl.lit('{"fullUrl":"'),
        org_url,
        pl.lit(
            f'","resource":{{"resourceType":"Organization","identifier":[{{"system":"{SENDER_SYSTEM}","value":'
        ),
        json_string("sender"),
        pl.lit('}],"name":'),
        json_string(pl.col("_sender_name").fill_null(pl.col("sender"))),
        pl.lit("}}"),
    )
    items = [
        _item(
            "diagnosedato",
            "Diagnosedato",
            pl.concat_str(pl.lit('"valueDate":'), json_string(pl.col("event_date").dt.strftime("%Y-%m-%d"))),
        ),
        _item("topografi", "Topografi (ICD-O-3)", _coding(ICDO3_SYSTEM, pl.col("topography"))),
        _item(
            "morfologi",
            "Morfologi (ICD-O-3)",
            _coding(ICDO3_SYSTEM, pl.format("{}/{}", "morphology", "behaviour")),
        ),
        _item(
            "differensieringsgrad",
            "Differensieringsgrad",
            _coding(CODE_SYSTEMS["grade"], pl.col("grade").cast(pl.String)),
        ),
        _item("lateralitet", "Lateralitet", _coding(CODE_SYSTEMS["laterality"], pl.col("laterality"))),
        _item("stadium", "Stadium", _coding(CODE_SYSTEMS["stage"], pl.col("stage").fill_null("unknown"))),
        _item("tnm", "Klinisk TNM", pl.concat_str(pl.lit('"valueString":'), json_string("tnm"))),
        _item(
            "diagnosegrunnlag",
            "Diagnosegrunnlag",
            _coding(CODE_SYSTEMS["basis"], pl.col("basis").cast(pl.String)),
        ),
        _item("rapporterende_sykehus", "Rapporterende sykehus", _coding(SENDER_SYSTEM, pl.col("sender"))),
    ]
    response = pl.concat_str(
        pl.lit('{"fullUrl":"'),
        qr_url,
        pl.lit(f'","resource":{{"resourceType":"QuestionnaireResponse","questionnaire":"{QUESTIONNAIRE}",'),
        pl.lit('"status":"completed","subject":{"reference":"'),
        patient_url,
        pl.lit('"},"authored":'),
        stamp,
        pl.lit(',"author":{"reference":"'),
        org_url,
        pl.lit('"},"item":['),
        pl.concat_str(items, separator=","),
        pl.lit("]}}"),
    )
    bundle = pl.concat_str(
        pl.lit(f'{{"resourceType":"Bundle","identifier":{{"system":"{MESSAGE_ID_SYSTEM}","value":'),
        json_string("message_id"),
        pl.lit('},"type":"collection","timestamp":'),
        stamp,
        pl.lit(',"entry":['),
        patient,
        pl.lit(","),
        organization,
        pl.lit(","),
        response,
        pl.lit("]}"),
    )
    kind = pl.col("malformed_kind").fill_null("")
    text = (
        pl.when(kind == "invalid_json")
        .then(pl.col("_bundle").str.slice(0, pl.col("_bundle").str.len_chars() - 2))
        .when(kind == "missing_status")
        .then(pl.col("_bundle").str.replace('"status":"completed",', "", literal=True))
        .when(kind == "missing_bundle_type")
        .then(pl.col("_bundle").str.replace('"type":"collection",', "", literal=True))
        .otherwise(pl.col("_bundle"))
    )
    path = f"messages/clinical/{year}/clinical_{year}.ndjson"
    lines = frame.with_columns(bundle.alias("_bundle")).select(text.alias("text"))["text"]
    body = (lines + "\n").str.join("").item() if lines.len() else ""
    files = {path: body.encode("utf-8")} if lines.len() else {}
    return pl.Series("file", [path] * lines.len(), dtype=pl.String), files
