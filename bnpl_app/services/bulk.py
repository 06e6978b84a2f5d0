"""Driver-level statements for the set-based paths (the sweep's deduction batches): many parameter
rows in one ``executemany``, plain tuples from a select by a list of ids, times as the driver
stores them, and ``BatchRefused``. How rows are read and written, never what is decided: the
decisions are ``domain.rules``' and the per-row services'."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ..models import UTCDateTime


class BatchRefused(Exception):
    """A guard of a set-based write did not hold (a row moved under us): the caller rolls back to
    its savepoint and takes the per-row path, which does what it always does."""


def execute_many(*, session: Session, sql: str, rows: list[tuple]) -> int:
    """One driver-level statement (``?`` placeholders) for many parameter rows, in the session's
    transaction; returns the total rowcount. Each statement a caller checks touches at most one
    row per parameter row (by primary key), so total == len(rows) means every row went through."""
    if not rows:
        return 0
    conn = session.connection()
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    if conn.dialect.supports_sane_multi_rowcount:
        return conn.exec_driver_sql(sql, rows).rowcount
    return sum(conn.exec_driver_sql(sql, row).rowcount for row in rows)


def select_in(*, session: Session, sql: str, ids) -> list[tuple]:
    """Plain driver rows for ``… IN ({ids})`` (times as the driver gives them: strings on SQLite,
    comparable with ``bind_time``)."""
    ids = list(ids)
    if not ids:
        return []
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cur = conn.connection.driver_connection.cursor()  # plain tuples: no result rows to build per row
    try:
        cur.execute(sql.format(ids=",".join([mark] * len(ids))), tuple(ids))
        return cur.fetchall()
    finally:
        cur.close()


_DT = UTCDateTime()


def bind_time(*, session: Session, at: datetime):
    """``at`` as the driver wants it for our UTCDateTime columns (a string on SQLite)."""
    dialect = session.get_bind().dialect
    proc = _DT.dialect_impl(dialect).bind_processor(dialect)
    return proc(at) if proc else at


def load_time(*, session: Session, raw) -> datetime:
    """The inverse of ``bind_time``: a driver's value of a UTCDateTime column as an aware datetime."""
    dialect = session.get_bind().dialect
    proc = _DT.dialect_impl(dialect).result_processor(dialect, None)
    return proc(raw) if proc else raw
