"""The backend fixture itself: each parameter gives a usable, empty database."""

from __future__ import annotations

import sqlalchemy as sa


def test_database_url_is_empty_and_writable(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            assert sa.inspect(conn).get_table_names() == []
            conn.execute(sa.text("CREATE TABLE probe (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO probe VALUES (1)"))
            assert conn.execute(sa.text("SELECT sum(x) FROM probe")).scalar_one() == 1
    finally:
        engine.dispose()
