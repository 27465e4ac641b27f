"""Fixtures of the app's tests: the app's script and the champion of a test project."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from codepro_leads.datasets.model_registry import RegisteredModel, RegisteredModelDataset

APP = Path(__file__).resolve().parents[2] / "src" / "codepro_leads" / "app" / "main.py"
MODEL_NAME = "codepro-lead-scorer"


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
