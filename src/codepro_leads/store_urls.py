"""The stores' database URLs, independent of the working directory, and their engines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

_SQLITE = "sqlite:///"


def absolute_store_url(url: str, root: str | Path) -> str:
    """``sqlite:///relative.db`` -> ``sqlite:////<root>/relative.db``; other URLs unchanged."""
    if not url.startswith(_SQLITE) or url.startswith(_SQLITE + "/") or url == "sqlite:///:memory:":
        return url
    return _SQLITE + (Path(root) / url[len(_SQLITE) :]).as_posix()


def store_engine(url: str, lock_timeout_s: float = 600.0, **engine_args: Any) -> Engine:
    """The engine of a score store (SQLite or PostgreSQL) whose connections wait up to
    ``lock_timeout_s`` for another run's lock. SQLite connections are in autocommit mode: a
    writer begins its own ``BEGIN IMMEDIATE`` (two writers queue rather than deadlock).
    """
    # Imported here: most processes that load the configuration never open a store.
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url

    timeout_ms = int(lock_timeout_s * 1000)
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        options = {"options": f"-c lock_timeout={timeout_ms}"}
        engine_args["connect_args"] = {**options, **engine_args.get("connect_args", {})}
    engine = create_engine(url, **engine_args)
    if backend == "sqlite":

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.isolation_level = None
            dbapi_connection.execute(f"PRAGMA busy_timeout = {timeout_ms}")

    return engine
