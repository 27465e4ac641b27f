"""Database URLs of the project's stores, made independent of the working directory."""

from __future__ import annotations

from pathlib import Path

_SQLITE = "sqlite:///"


def absolute_store_url(url: str, root: str | Path) -> str:
    """``sqlite:///relative.db`` -> ``sqlite:////<root>/relative.db``; any other URL (absolute
    SQLite, PostgreSQL, an MLflow server) is returned unchanged."""
    if not url.startswith(_SQLITE) or url.startswith(_SQLITE + "/") or url == "sqlite:///:memory:":
        return url
    return _SQLITE + (Path(root) / url[len(_SQLITE) :]).as_posix()
