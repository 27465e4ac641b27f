"""Project hooks (kedro-mlflow's hooks come from its plugin entry point)."""

from __future__ import annotations

import logging
import time
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


class PipelineTimer:
    """Logs how long the runner took (node work plus dataset I/O, without session set-up)."""

    def __init__(self) -> None:
        self._started = 0.0
        self.last_seconds: float | None = None

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        self._started = time.perf_counter()

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any]) -> None:
        self.last_seconds = time.perf_counter() - self._started
        names = ", ".join(run_params.get("pipeline_names") or ["__default__"])
        logger.info("Pipeline %s ran in %.2f s", names, self.last_seconds)
