"""Configuration that never depends on the working directory: ``${store_url:...}`` makes
relative SQLite paths absolute against the project root; ``${run_folder:}`` is a folder of this
run alone, so overlapping runs never meet (``versioned:`` cannot do it for kedro-mlflow's
artifact datasets: they give their inner dataset a save version of its own, which Kedro 1.x
refuses).
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
    """Kedro's OmegaConfigLoader plus resolvers bound to this loader's project and run."""

    def __init__(self, conf_source: str, *args: Any, **kwargs: Any) -> None:
        root = Path(conf_source).resolve().parent
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H.%M.%S.%f")[:-3]
        run_folder = f"{started}Z-{os.getpid()}"
        # Resolvers are process-wide and ``custom_resolvers`` keeps a name's first registration:
        # each loader rebinds them, so each session resolves against its own project.
        for name, resolver in {
            "store_url": lambda url: absolute_store_url(url, root),
            "project_path": lambda: root.as_posix(),
            "run_folder": lambda: run_folder,
        }.items():
            OmegaConf.register_new_resolver(name, resolver, replace=True)
        super().__init__(conf_source, *args, **kwargs)
