"""Engine, sessions and schema migrations for SQLite (default, WAL) and PostgreSQL (given a URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WRITE_OPTION = "secondlook_write"


def make_engine(url: str) -> Engine:
    """SQLite gets WAL, full fsync on commit, a busy timeout, and `BEGIN IMMEDIATE` for write transactions.

    `BEGIN IMMEDIATE` takes the write lock when a write transaction starts, so two threads that read and then
    write queue up behind the busy timeout instead of one failing with "database is locked" on the upgrade.
    Reads begin deferred and never hold the lock (WAL lets them run beside a writer).
    """
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _ensure_sqlite_folder(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged upload survives a power cut, not only kill -9
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    writing = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest Alembic revision (creates it on an empty database), or to `revision`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


class SessionFactory(sessionmaker[Session]):
    """`factory()` opens a session for reading; `factory.begin()` a write transaction (committed on success).

    On SQLite the write transaction starts with `BEGIN IMMEDIATE`; reads never take the write lock.
    """

    def begin(self) -> _CommitAndClose:
        session = self(bind=self.kw["bind"].execution_options(**{WRITE_OPTION: True}))
        return _CommitAndClose(session)


class _CommitAndClose:
    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> Session:
        self.session.begin()
        return self.session

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            if kind is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()


def session_factory(engine: Engine) -> SessionFactory:
    return SessionFactory(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any exception."""
    with factory.begin() as session:
        yield session
