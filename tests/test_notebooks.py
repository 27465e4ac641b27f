"""The notebooks in notebooks/ run top to bottom with a Jupyter kernel on a small project made
by the pipelines (demo data -> data_processing -> model_selection), and leave no store
behind outside the project's own paths."""

from __future__ import annotations

import os
import re
import shutil

import nbformat
import pytest

from tests.conftest import PROJECT_ROOT, make_project, run_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

NOTEBOOKS = sorted(path.name for path in (PROJECT_ROOT / "notebooks").glob("*.ipynb"))
TINY_SELECTION = {
    "model_selection": {
        "sample_rows": 300,
        "folds": 2,
        "n_iter": 2,
        "n_jobs": 1,
        "models": {"include": ["lr", "lightgbm"], "exclude": None},
    }
}


def _stores(root) -> set:
    """SQLite stores and MLflow folders in ``root`` and ``root/notebooks``."""
    return {
        path
        for folder in (root, root / "notebooks")
        for pattern in ("*.db", "mlruns", "logs.log")
        for path in folder.glob(pattern)
    }


def test_notebooks_are_committed_without_outputs():
    assert NOTEBOOKS == ["01_explore_leads.ipynb", "02_model_selection.ipynb"]
    for name in NOTEBOOKS:
        notebook = nbformat.read(PROJECT_ROOT / "notebooks" / name, as_version=4)
        nbformat.validate(notebook)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert code[0].source == "%load_ext kedro.ipython"
        assert all(not cell.outputs and cell.execution_count is None for cell in code), name


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Both notebooks executed in a small project: {name: (notebook, project root)}."""
    repository_stores = _stores(PROJECT_ROOT)
    with pytest.MonkeyPatch.context() as monkeypatch:
        project = make_project(tmp_path_factory.mktemp("notebooks"), monkeypatch)
        run_pipeline(project, "demo_data", {"demo_data": {"rows": 3000, "new_rows": 100}})
        run_pipeline(project, "data_processing")
        run_pipeline(project, "model_selection", TINY_SELECTION)
        shutil.copytree(PROJECT_ROOT / "notebooks", project / "notebooks")
        results = {}
        for name in NOTEBOOKS:
            notebook = nbformat.read(project / "notebooks" / name, as_version=4)
            _execute(notebook, project)
            results[name] = notebook
        yield results, project, repository_stores


def _execute(notebook, project, allow_errors: bool = False) -> None:
    """Run ``notebook`` in a kernel started in ``project/notebooks``."""
    from nbclient import NotebookClient

    # The kernel gets the environment a data scientist has: no MLFLOW_TRACKING_URI, so the
    # project's own default store applies, and no MPLBACKEND (importing streamlit, as the
    # app's tests do in this process, sets it to Agg: no inline plots).
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MPLBACKEND")}
    env.update(DO_NOT_TRACK="1", KEDRO_DISABLE_TELEMETRY="1")
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(project / "notebooks")}},
    )
    client.execute(env=env)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom_and_shows_plots(executed, name):
    results, _, _ = executed
    outputs = [output for cell in results[name].cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.output_type == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) >= 2


def test_notebooks_create_no_store_outside_the_project_paths(executed):
    _, project, repository_stores = executed
    notebooks = project / "notebooks"
    strays = sorted(
        {
            path.relative_to(project)
            for pattern in ("*.db", "mlruns", "logs.log", "data")
            for path in notebooks.glob(f"**/{pattern}")
        }
    )
    # Fails while the tracking URI resolves against the kernel's working directory
    # (notebooks/mlflow.db); the project-root resolution lives in settings/hooks.
    assert strays == []
    assert sorted(p.name for p in project.glob("*.db")) == ["mlflow.db"]
    assert _stores(PROJECT_ROOT) == repository_stores  # nothing new where pytest was started


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_first_cell_loads_the_project_without_type_hint_warnings(executed, name):
    results, _, _ = executed
    first = next(cell for cell in results[name].cells if cell.cell_type == "code")
    shown = _text(first.outputs)
    assert "Defined global variable" in shown  # Kedro's extension loaded the project
    assert "Could not extract type hints" not in shown


def test_notebook_02_before_model_selection_says_which_pipeline_to_run(tmp_path, monkeypatch):
    project = make_project(tmp_path, monkeypatch)
    shutil.copytree(PROJECT_ROOT / "notebooks", project / "notebooks")
    notebook = nbformat.read(project / "notebooks" / "02_model_selection.ipynb", as_version=4)
    notebook.cells = [cell for cell in notebook.cells if cell.cell_type == "code"][:2]
    _execute(notebook, project, allow_errors=True)
    # Kedro's extension draws errors with rich (a display) or IPython shows them (an error).
    shown = re.sub(r"\x1b\[[0-9;]*m", "", _text(notebook.cells[1].outputs))
    assert (
        "FileNotFoundError: No model selection yet: run `kedro run --pipelines model_selection` "
        "first" in shown
    )
    assert "DatasetError" not in shown


def _text(outputs) -> str:
    """What a cell's outputs show as text: streams, plain-text displays, errors."""
    return "".join(
        output.get("text", "")
        + str(output.get("data", {}).get("text/plain", ""))
        + (f"{output.ename}: {output.evalue}" if output.output_type == "error" else "")
        for output in outputs
    )
