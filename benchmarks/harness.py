"""Shared benchmark plumbing: demo files of N rows, a throw-away project, timed Kedro runs.

Each pipeline run happens in a fresh Python process so that its peak RSS is its own.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

project, pipeline, params = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
bootstrap_project(project)
from codepro_leads.settings import HOOKS  # noqa: E402  (the project's PipelineTimer)

with KedroSession.create(project_path=project, runtime_params=params) as session:
    start = time.perf_counter()
    session.run(pipeline_names=[pipeline])
    session_seconds = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({
    "session_seconds": session_seconds,
    "pipeline_seconds": HOOKS[0].last_seconds,
    "peak_rss_mb": peak_mb,
}))
"""


def load_params(name: str) -> dict[str, Any]:
    """The ``name`` block of the base parameters, resolved as Kedro does."""
    from codepro_leads.config_loader import ProjectConfigLoader
    from codepro_leads.settings import CONFIG_LOADER_ARGS

    loader = ProjectConfigLoader(str(PROJECT_ROOT / "conf"), **CONFIG_LOADER_ARGS)
    return loader["parameters"][name]


def scratch_project() -> Path:
    """A copy of the project's conf in a temporary folder, so benchmarks never touch data/."""
    root = Path(tempfile.mkdtemp(prefix="codepro-bench-"))
    shutil.copytree(PROJECT_ROOT / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    (root / "src").mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def write_demo_leads(path: Path, rows: int, labeled: bool = True) -> None:
    """N demo leads in CodePro's raw format (labeled, or new leads without the label)."""
    from codepro_leads.pipelines.demo_data import nodes

    demo = {**load_params("demo_data"), "rows": rows, "new_rows": rows}
    processing = load_params("data_processing")
    if labeled:
        frame, _ = nodes.generate_labeled_leads(demo, processing)
    else:
        frame, _ = nodes.generate_new_leads(demo, processing)
    frame.to_csv(path, index=True)


def timed_run(project: Path, pipeline: str, params: dict[str, Any]) -> dict[str, float]:
    """Run one pipeline in a child process.

    wall: the whole process (imports included); session: ``session.run`` (context set-up,
    kedro-mlflow included); pipeline: the runner alone (nodes and dataset I/O).
    """
    import time

    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(project), pipeline, json.dumps(params)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{pipeline} run failed:\n{out.stderr[-3000:]}")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return {"wall_seconds": wall, **figures}


def report(label: str, runs: list[dict[str, float]]) -> None:
    """Print each run and the medians (shared machines are noisy)."""
    for i, run in enumerate(runs, 1):
        print(f"{label} run {i}: " + ", ".join(f"{k}={v:.2f}" for k, v in run.items()))
    medians = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"{label} MEDIAN: " + ", ".join(f"{k}={v:.2f}" for k, v in medians.items()))
