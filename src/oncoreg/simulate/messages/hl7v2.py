"""Pathology reports as HL7 v2.5 ORU^R01, one batch file per lab and year (docs/formats.md §Pathology).

Batch layout: ``FHS``, ``BHS``, the messages, ``BTS`` (message count), ``FTS`` (batch count 1). Every
segment ends with a carriage return (``\\r``), the HL7 segment terminator. A message is::

    MSH|^~\\&|LIS|<lab>|KREFTREG|KRG|<sent YYYYMMDDHHMMSS+ZZZZ>||ORU^R01^ORU_R01|<message_id>|P|2.5
        |||AL|NE|NOR|UNICODE UTF-8
    PID|1||<identifier>^^^<authority>^<FNR|DNR|HNR>||<last>^<first>||<YYYYMMDD>|<M|F>
    ORC|RE|<requisition>|<accession>||CM||||||||||||||<requester name>^^^^^^^^^<requester code>
    OBR|1|<requisition>|<accession>|<HIST|CYT>^<text>^99KRG|||<specimen date>|||||||<received date>
        |||||||<sent>|||F
    OBX|n|CWE|<TOPOGRAFI|MORFOLOGI|GRAD|LATERALITET|PREPARAT>^<text>^99KRG||<code>^<text>^<system>||||||F
    OBX|n|TX|KONKLUSJON^Diagnose^99KRG||<Norwegian free text>||||||F

Malformed messages (truth ``malformed``): ``missing_pid`` drops the PID segment; ``broken_msh`` empties
MSH-9 (message type). MSH-10 (message control id = ``message_id``) is kept in both.
"""

from __future__ import annotations

import polars as pl

from oncoreg.simulate.messages import delays, reference

SEP = "\r"
AUTHORITY = {
    "fnr": "FNR&2.16.578.1.12.4.1.4.1&ISO",
    "dnr": "DNR&2.16.578.1.12.4.1.4.2&ISO",
}
ID_TYPE = {"fnr": "FNR", "dnr": "DNR", "hnr": "HNR"}
LATERALITY_NO = {"R": "høyre", "L": "venstre", "B": "bilateral", "U": "ukjent side", "N": "ikke parorgan"}
SPECIMEN_NO = {"BIOPSI": "Biopsi", "RESEKSJON": "Reseksjonspreparat", "CYTOLOGI": "Cytologisk materiale"}


def escape(column: str | pl.Expr) -> pl.Expr:
    """HL7 escaping of a text value: ``\\ | ^ ~ &`` → ``\\E\\ \\F\\ \\S\\ \\R\\ \\T\\``."""
    expr = pl.col(column) if isinstance(column, str) else column
    expr = expr.cast(pl.String).fill_null("").str.replace_all("\\", "\\E\\", literal=True)
    for char, code in (("|", "\\F\\"), ("^", "\\S\\"), ("~", "\\R\\"), ("&", "\\T\\")):
        expr = expr.str.replace_all(char, code, literal=True)
    return expr


def _ymd(column: str) -> pl.Expr:
    return pl.col(column).dt.strftime("%Y%m%d").fill_null("")


def free_text(frame: pl.DataFrame) -> pl.Series:
    """Norwegian conclusion, e.g. ``Infiltrerende duktalt karsinom, grad 2, høyre bryst``.

    term (``data/morphology_terms_no.csv``, by morphology and behaviour, falling back to behaviour) +
    ``grad g`` (grades 1–4) + laterality word (paired organs) + organ (``data/topography_terms_no.csv``).
    """
    terms = reference.morphology_terms()
    specific = terms.filter(pl.col("morphology").is_not_null())
    exact = specific.filter(pl.col("behaviour").is_not_null()).rename({"term_no": "_exact"})
    any_behaviour = (
        specific.filter(pl.col("behaviour").is_null()).drop("behaviour").rename({"term_no": "_any"})
    )
    fallback = (
        terms.filter(pl.col("morphology").is_null()).drop("morphology").rename({"term_no": "_fallback"})
    )
    organs = reference.topography_terms().rename({"site": "_site"})
    looked_up = (
        frame.select("morphology", "behaviour", "grade", "laterality", "basis", "topography")
        .with_columns(pl.col("topography").str.slice(0, 3).alias("_site"))
        .join(exact, on=["morphology", "behaviour"], how="left", maintain_order="left")
        .join(any_behaviour, on="morphology", how="left", maintain_order="left")
        .join(fallback, on="behaviour", how="left", maintain_order="left")
        .join(organs, on="_site", how="left", maintain_order="left")
    )
    term = pl.coalesce("_exact", "_any", "_fallback", pl.lit("Svulst"))
    grade = (
        pl.when(pl.col("grade").is_between(1, 4)).then(pl.format(", grad {}", "grade")).otherwise(pl.lit(""))
    )
    side = pl.when(pl.col("laterality").is_in(["R", "L"])).then(
        pl.concat_str(pl.col("laterality").replace_strict(LATERALITY_NO, default=""), pl.lit(" "))
    )
    organ = pl.concat_str(side.otherwise(pl.lit("")), pl.col("organ_no").fill_null("ukjent lokalisasjon"))
    where = pl.when(pl.col("basis") == 6).then(pl.lit(", metastase fra ")).otherwise(pl.lit(", "))
    prefix = pl.when(pl.col("basis") == 5).then(pl.lit("Cytologi: ")).otherwise(pl.lit(""))
    return looked_up.select(pl.concat_str(prefix, term, grade, where, organ).alias("text"))["text"]


def _obx(set_id: int, kind: str, ident: str, value: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit(f"OBX|{set_id}|{kind}|{ident}||"), value, pl.lit("||||||F"))


def render(messages: pl.DataFrame, *, year: int) -> tuple[pl.Series, dict[str, bytes]]:
    """HL7 text of every pathology message; returns the file of each row and the file contents."""
    senders = reference.senders().select(
        pl.col("sender_code").alias("requester"), pl.col("name").alias("_req_name")
    )
    frame = messages.join(senders, on="requester", how="left", maintain_order="left").with_columns(
        free_text(messages).alias("_text"),
        delays.local_timestamp("sent_date", "sent_seconds", "%Y%m%d%H%M%S%z").alias("_sent"),
        pl.format("{}-{}-{}", "sender", pl.col("event_date").dt.year(), pl.col("tumour_id")).alias(
            "_requisition"
        ),
        pl.format("{}{}-{}", pl.col("specimen_kind").str.slice(0, 1), "tumour_id", "report_number").alias(
            "_accession"
        ),
    )
    authority = (
        pl.when(pl.col("identifier_type") == "hnr")
        .then(pl.format("HNR&{}&L", "requester"))
        .otherwise(pl.col("identifier_type").replace_strict(AUTHORITY, default=""))
    )
    pid3 = (
        pl.when(pl.col("identifier").is_null())
        .then(pl.lit(""))
        .otherwise(
            pl.concat_str(
                "identifier",
                pl.lit("^^^"),
                authority,
                pl.lit("^"),
                pl.col("identifier_type").replace_strict(ID_TYPE, default=""),
            )
        )
    )
    kind = pl.col("malformed_kind").fill_null("")
    msh9 = pl.when(kind == "broken_msh").then(pl.lit("")).otherwise(pl.lit("ORU^R01^ORU_R01"))
    msh = pl.concat_str(
        pl.lit("MSH|^~\\&|LIS|"),
        "sender",
        pl.lit("|KREFTREG|KRG|"),
        "_sent",
        pl.lit("||"),
        msh9,
        pl.lit("|"),
        "message_id",
        pl.lit("|P|2.5|||AL|NE|NOR|UNICODE UTF-8"),
    )
    pid = pl.concat_str(
        pl.lit("PID|1||"),
        pid3,
        pl.lit("||"),
        escape("last_name"),
        pl.lit("^"),
        escape("first_name"),
        pl.lit("||"),
        _ymd("birth_date"),
        pl.lit("|"),
        pl.col("sex").replace_strict({1: "M", 2: "F"}, default="U"),
    )
    orc = pl.concat_str(
        pl.lit("ORC|RE|"),
        "_requisition",
        pl.lit("|"),
        "_accession",
        pl.lit("||CM"),
        pl.lit("|" * 16),
        escape("_req_name"),
        pl.lit("^^^^^^^^^"),
        "requester",
    )
    cytology = pl.lit("CYT^Cytologisk undersøkelse^99KRG")
    service = pl.when(pl.col("specimen_kind") == "CYTOLOGI").then(cytology)
    obr = pl.concat_str(
        pl.lit("OBR|1|"),
        "_requisition",
        pl.lit("|"),
        "_accession",
        pl.lit("|"),
        service.otherwise(pl.lit("HIST^Histologisk undersøkelse^99KRG")),
        pl.lit("|||"),
        _ymd("event_date"),
        pl.lit("|" * 7),
        _ymd("received_date"),
        pl.lit("|" * 8),
        "_sent",
        pl.lit("|||F"),
    )
    morph_code = pl.format("{}/{}", "morphology", "behaviour")
    obx = [
        _obx(1, "CWE", "TOPOGRAFI^Topografi ICD-O-3^99KRG", pl.concat_str("topography", pl.lit("^^ICDO3"))),
        _obx(2, "CWE", "MORFOLOGI^Morfologi ICD-O-3^99KRG", pl.concat_str(morph_code, pl.lit("^^ICDO3"))),
        _obx(3, "CWE", "GRAD^Differensieringsgrad^99KRG", pl.format("{}^^ICDO3G", "grade")),
        _obx(
            4,
            "CWE",
            "LATERALITET^Lateralitet^99KRG",
            pl.concat_str(
                "laterality",
                pl.lit("^"),
                pl.col("laterality").replace_strict(LATERALITY_NO, default=""),
                pl.lit("^99KRG"),
            ),
        ),
        _obx(
            5,
            "CWE",
            "PREPARAT^Preparattype^99KRG",
            pl.concat_str(
                "specimen_kind",
                pl.lit("^"),
                pl.col("specimen_kind").replace_strict(SPECIMEN_NO, default=""),
                pl.lit("^99KRG"),
            ),
        ),
        _obx(6, "TX", "KONKLUSJON^Diagnose^99KRG", escape("_text")),
    ]
    segments = [msh, pl.when(kind != "missing_pid").then(pid), orc, obr, *obx]
    rendered = frame.select(
        "sender",
        "_sent",
        pl.concat_str(segments, separator=SEP, ignore_nulls=True).alias("text"),
        pl.format("messages/pathology/{}/{}_{}.hl7", pl.lit(year), "sender", pl.lit(year)).alias("file"),
    )
    files: dict[str, bytes] = {}
    for (path, sender), group in rendered.group_by("file", "sender", maintain_order=True):
        stamp = str(group["_sent"].max())
        batch = f"BHS|^~\\&|LIS|{sender}|KREFTREG|KRG|{stamp}"
        header = f"FHS|^~\\&|LIS|{sender}|KREFTREG|KRG|{stamp}||{path}{SEP}{batch}"
        trailer = f"BTS|{group.height}{SEP}FTS|1"
        body = SEP.join([header, group["text"].str.join(SEP).item(), trailer]) + SEP
        files[str(path)] = body.encode("utf-8")
    return rendered["file"], files
