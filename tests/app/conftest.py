"""Fixtures of the app's tests: the app's script and the champion of a test project."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import mlflow.tracking._model_registry.utils as registry_utils
import mlflow.tracking._tracking_service.utils as tracking_utils
import pytest
from streamlit.testing.v1 import AppTest

from codepro_leads.datasets.model_registry import RegisteredModel, RegisteredModelDataset

APP = Path(__file__).resolve().parents[2] / "src" / "codepro_leads" / "app" / "main.py"
MODEL_NAME = "codepro-lead-scorer"


@pytest.fixture(autouse=True)
def _app_leaves_mlflow_uris_as_they_were() -> Iterator[None]:
    """The app sets MLflow's process-wide tracking and registry URIs, and MLflow exports them
    as environment variables too: left set, later tests in this process (and their
    subprocesses) would register models in this test's store."""
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    environment = {name: os.environ.get(name) for name in names}
    uris = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    yield
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    tracking_utils._tracking_uri, registry_utils._registry_uri = uris


def open_page(page: str | None = None) -> AppTest:
    """The app as a browser session sees it (in the current project), on ``page``
    (``views/<page>.py``; None: the first page)."""
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    if page is not None:
        app.switch_page(f"views/{page}.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


@pytest.fixture
def champion(trained_project) -> RegisteredModel:
    """The trained project's champion, loaded as the pipelines load it (not by the app)."""
    return RegisteredModelDataset(MODEL_NAME, alias="champion").load()
