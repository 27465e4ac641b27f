"""airflow_dags/ holds exactly what `make dags` generates (never hand-edited, never stale), and
the template's task per node group keeps every in-memory hand-off inside one task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro_airflow.grouping import get_memory_datasets
from slugify import slugify

from tests.conftest import PROJECT_ROOT, make_project

pytestmark = pytest.mark.slow

DAG_FILES = [
    "codepro_leads_data_processing_dag.py",
    "codepro_leads_inference_dag.py",
    "codepro_leads_model_selection_dag.py",
    "codepro_leads_outcomes_dag.py",
    "codepro_leads_profiling_dag.py",
    "codepro_leads_training_dag.py",
]
# Each task of each DAG file in a folder, as Airflow parses it: its nodes (None: all of the
# pipeline's) and its upstream tasks.
PARSE_DAGS = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1])
assert not bag.import_errors, bag.import_errors
print(json.dumps({
    dag.dag_id: {
        t.task_id: [(t.op_args or [None])[0], sorted(t.upstream_task_ids)] for t in dag.tasks
    }
    for dag in bag.dags.values()
}))
"""


def _mlflow_env(tmp_path) -> dict[str, str]:
    # kedro-mlflow opens its store when a session starts: keep it out of the repository.
    return {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}


def test_committed_dags_are_what_make_dags_generates(tmp_path):
    generated_dir = tmp_path / "dags"
    subprocess.run(
        ["make", "--no-print-directory", "dags", f"DAGS_DIR={generated_dir}"],
        cwd=PROJECT_ROOT,
        env=_mlflow_env(tmp_path),
        check=True,
        capture_output=True,
    )

    committed = sorted((PROJECT_ROOT / "airflow_dags").iterdir())
    generated = sorted(generated_dir.iterdir())
    assert [p.name for p in committed] == DAG_FILES
    assert [p.name for p in generated] == DAG_FILES
    for new, old in zip(generated, committed, strict=True):
        assert new.read_bytes() == old.read_bytes(), f"{old.name} is stale: run `make dags`"


def test_split_dags_keep_in_memory_hand_offs_inside_one_task(tmp_path, monkeypatch):
    """Every exported pipeline rendered with `one_task: false`: each node in exactly one task,
    no in-memory dataset crosses a task, and a task runs after the tasks it reads from."""
    config = yaml.safe_load((PROJECT_ROOT / "conf/base/airflow.yml").read_text())
    names = [name for name in config if name != "default"]
    dags_dir = tmp_path / "dags"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("kedro")),
            *["airflow", "create", "--pipelines", ",".join(names), "--group-by", "memory"],
            *["--jinja-file", "airflow/dag_template.j2", "--target-dir", str(dags_dir)],
            *["--params", "one_task=false"],
        ],
        cwd=PROJECT_ROOT,
        env=_mlflow_env(tmp_path),
        check=True,
        capture_output=True,
    )
    parsed = subprocess.run(
        [sys.executable, "-c", PARSE_DAGS, str(dags_dir)],
        env={**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow")},
        capture_output=True,
        text=True,
    )
    assert parsed.returncode == 0, parsed.stderr[-3000:]
    dags = json.loads(parsed.stdout.splitlines()[-1])

    project = make_project(tmp_path / "project", monkeypatch)
    with KedroSession.create(project_path=project) as session:
        catalog = session.load_context().catalog
    for name in names:
        pipeline = pipelines[name]
        all_nodes = [node.name for node in pipeline.nodes]
        tasks = {
            task: (nodes or all_nodes, upstream)
            for task, (nodes, upstream) in dags[f"codepro-leads-{slugify(name)}"].items()
        }
        task_of = {node: task for task, (nodes, _) in tasks.items() for node in nodes}
        assert sorted(n for nodes, _ in tasks.values() for n in nodes) == sorted(all_nodes)
        memory = get_memory_datasets(catalog, pipeline)
        producer = {output: node.name for node in pipeline.nodes for output in node.outputs}
        for node in pipeline.nodes:
            task = task_of[node.name]
            for upstream in {task_of[producer[i]] for i in node.inputs if i in producer}:
                assert upstream == task or upstream in tasks[task][1], (name, node.name)
            for dataset in set(node.inputs) & memory & producer.keys():
                assert task_of[producer[dataset]] == task, (name, dataset)
