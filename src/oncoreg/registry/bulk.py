"""Bulk inserts of many rows through the driver's ``executemany`` (SQLite and PostgreSQL).

SQLAlchemy's compiled ``insert()`` with a list of dicts builds, per row, a parameter dict through the
compiled statement (``construct_params``) and runs each value through its type; at hundreds of thousands
of rows that bookkeeping costs more than the database does. :func:`insert_rows` takes rows as tuples in a
fixed column order, converts only the values whose column type has a bind processor (dates, timestamps,
JSON, binaries: the very processors SQLAlchemy itself would apply, so the stored values are identical)
and hands them to the driver in one ``executemany``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any]


def _placeholder(dialect: Dialect) -> str:
    if dialect.paramstyle == "qmark":
        return "?"
    if dialect.paramstyle in ("format", "pyformat"):
        return "%s"
    raise NotImplementedError(f"bulk inserts need a qmark or format driver, not {dialect.paramstyle}")


@lru_cache(maxsize=256)
def _statement(
    dialect: Dialect,
    table: sa.Table,
    columns: tuple[str, ...],
    conflict_key: str | None,
    raw: frozenset[str] = frozenset(),
) -> tuple[str, tuple[Processor | None, ...]]:
    preparer = dialect.identifier_preparer
    marks = ", ".join(_placeholder(dialect) for _ in columns)
    names = ", ".join(preparer.quote(name) for name in columns)
    sql = f"INSERT INTO {preparer.format_table(table)} ({names}) VALUES ({marks})"
    if conflict_key is not None:
        sql += f" ON CONFLICT ({preparer.quote(conflict_key)}) DO NOTHING"
    processors = tuple(
        None if name in raw else table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in columns
    )
    return sql, processors


#: Types whose equal values may differ in what a processor makes of them (``1 == 1.0 == True``).
_NUMERIC = frozenset({bool, int, float, complex, Decimal})


def _converted(values: tuple[Any, ...], processor: Processor) -> Iterable[Any]:
    """``processor`` applied to every value; a column repeating few values (dates, the batch's ``now``,
    ``None``) converts each distinct value once."""
    try:
        if len(set(values[:64])) > 32:  # mostly distinct (contents, identifiers): not worth a set
            return map(processor, values)
        distinct = set(values)
    except TypeError:  # unhashable values (JSON documents)
        return map(processor, values)
    if len(distinct) * 2 > len(values) or not _NUMERIC.isdisjoint(map(type, distinct)):
        return map(processor, values)
    converted = {value: processor(value) for value in distinct}
    return map(converted.__getitem__, values)


def _processed(
    rows: Iterable[Sequence[Any]], processors: tuple[Processor | None, ...]
) -> list[tuple[Any, ...]]:
    table = [tuple(row) for row in rows]
    if not table or all(processor is None for processor in processors):
        return table
    columns = list(zip(*table, strict=True))  # converted column by column: map() beats a loop per value
    for index, processor in enumerate(processors):
        if processor is not None:
            columns[index] = tuple(_converted(columns[index], processor))
    return list(zip(*columns, strict=True))


def insert_rows(
    connection: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    conflict_key: str | None = None,
    raw: Iterable[str] = (),
) -> int:
    """Insert ``rows`` (value tuples in the order of ``columns``) into ``table`` in one executemany;
    returns how many rows were inserted.

    With ``conflict_key`` a row whose key already exists is skipped (``ON CONFLICT (key) DO NOTHING``,
    SQLite and PostgreSQL). Values go through their column type's bind processor, as in ``insert()``,
    except in the ``raw`` columns, whose values are already what that processor would make of them (the
    JSON text of :func:`oncoreg.registry.history.record_frame`).
    """
    sql, processors = _statement(connection.dialect, table, tuple(columns), conflict_key, frozenset(raw))
    parameters = _processed(rows, processors)
    if not parameters:
        return 0
    return int(connection.exec_driver_sql(sql, parameters).rowcount)


def bind_value(connection: sa.Connection, table: sa.Table, column: str, value: Any) -> Any:
    """``value`` as the column type's bind processor hands it to the driver (for a ``raw`` column)."""
    dialect = connection.dialect
    processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return value if processor is None else processor(value)


@lru_cache(maxsize=256)
def _update_statement(
    dialect: Dialect, table: sa.Table, columns: tuple[str, ...], key: str
) -> tuple[str, tuple[Processor | None, ...]]:
    preparer = dialect.identifier_preparer
    mark = _placeholder(dialect)
    sets = ", ".join(f"{preparer.quote(name)} = {mark}" for name in columns)
    sql = f"UPDATE {preparer.format_table(table)} SET {sets} WHERE {preparer.quote(key)} = {mark}"
    processors = tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in (*columns, key)
    )
    return sql, processors


def update_rows(
    connection: sa.Connection,
    table: sa.Table,
    key: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Set ``columns`` of the rows whose ``key`` is given, in one executemany: ``rows`` are value tuples in
    the order of ``columns`` followed by the key's value. Values go through their column type's bind
    processor, as in ``update()``."""
    sql, processors = _update_statement(connection.dialect, table, tuple(columns), key)
    parameters = _processed(rows, processors)
    if parameters:
        connection.exec_driver_sql(sql, parameters)
