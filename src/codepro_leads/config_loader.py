"""Configuration whose store URLs never depend on the working directory.

``sqlite:///mlflow.db`` is relative to the working directory: a notebook in ``notebooks/`` or
an Airflow task started elsewhere would silently create a second, empty store. The
``${store_url:...}`` resolver makes relative SQLite paths absolute against the project root.

``${run_folder:}`` names a folder of this run alone (UTC start time and process id) for files
a run writes and reads back or logs, so overlapping runs never meet. (Kedro's ``versioned``
would do it, but kedro-mlflow's artifact datasets give their inner dataset a save version of
its own, which Kedro 1.x refuses.)
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kedro.config import OmegaConfigLoader
from omegaconf import OmegaConf

from codepro_leads.store_urls import absolute_store_url


class ProjectConfigLoader(OmegaConfigLoader):
    """Kedro's OmegaConfigLoader plus the ``store_url``, ``project_path`` and ``run_folder``
    resolvers, bound to this loader's project and run."""

    def __init__(self, conf_source: str, *args: Any, **kwargs: Any) -> None:
        root = Path(conf_source).resolve().parent
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H.%M.%S.%f")[:-3]
        run_folder = f"{started}Z-{os.getpid()}"
        # OmegaConf resolvers are process-wide and Kedro's ``custom_resolvers`` keeps the first
        # registration of a name: each loader (one per session context) binds these to its own
        # project and run instead, so sessions of other projects in one process (tests,
        # notebooks) resolve against their own root.
        for name, resolver in {
            "store_url": lambda url: absolute_store_url(url, root),
            "project_path": lambda: root.as_posix(),
            "run_folder": lambda: run_folder,
        }.items():
            OmegaConf.register_new_resolver(name, resolver, replace=True)
        super().__init__(conf_source, *args, **kwargs)
