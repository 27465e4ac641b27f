"""Kedro resolves every node's type hints when a session starts (to validate typed
parameters): a hint it cannot resolve is a warning per node in every notebook and run."""

from __future__ import annotations

import subprocess
import sys
from typing import get_type_hints

from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project

from tests.conftest import PROJECT_ROOT


def test_every_node_type_hint_resolves():
    bootstrap_project(PROJECT_ROOT)
    unresolved = {}
    for pipeline in pipelines.values():
        for node in pipeline.nodes:
            try:
                get_type_hints(node.func)
            except NameError as error:
                unresolved[node.name] = str(error)
    assert unresolved == {}


def test_loading_the_pipelines_imports_no_plotting_or_database_client():
    """The hints of what the catalog loads do not import Matplotlib, SQLAlchemy or the model
    registry's dataset: `kedro viz` and a `kedro run` without --pipelines load all pipelines."""
    code = (
        "import sys; from kedro.framework.startup import bootstrap_project; "
        f"bootstrap_project({str(PROJECT_ROOT)!r}); "
        "from kedro.framework.project import pipelines; dict(pipelines); "
        "print(sorted(m for m in ('matplotlib', 'sqlalchemy', "
        "'codepro_leads.datasets.model_registry') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.splitlines()[-1] == "[]"
