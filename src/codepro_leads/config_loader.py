"""Configuration whose store URLs never depend on the working directory.

``sqlite:///mlflow.db`` means "mlflow.db in the current directory" to SQLAlchemy and MLflow: a
notebook kernel in ``notebooks/`` or an Airflow task started elsewhere would silently create a
second, empty store. The ``${store_url:...}`` resolver makes relative SQLite paths absolute
against the project root (the parent of ``conf/``), wherever the process runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.config import OmegaConfigLoader

from codepro_leads.store_urls import absolute_store_url


class ProjectConfigLoader(OmegaConfigLoader):
    """Kedro's OmegaConfigLoader plus the ``store_url`` and ``project_path`` resolvers."""

    def __init__(
        self,
        conf_source: str,
        *args: Any,
        custom_resolvers: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        root = Path(conf_source).resolve().parent
        resolvers = {
            **(custom_resolvers or {}),
            "store_url": lambda url: absolute_store_url(url, root),
            "project_path": lambda: root.as_posix(),
        }
        super().__init__(conf_source, *args, custom_resolvers=resolvers, **kwargs)
