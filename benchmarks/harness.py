"""Shared benchmark plumbing: demo files of N rows, a throw-away project, timed Kedro runs.

Each measured run happens in a fresh Python process so that its peak RSS is its own: wall
time is the whole process (start-up and imports included), peak RSS is the child's own
``ru_maxrss`` as the kernel reports it to the parent (``wait4``).
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# As the Makefile does. Without them kedro-telemetry's catalog hook imports every dataset class
# of the project (MLflow included) in every run, and sends statistics over the network.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")

_CHILD = """
import json, sys, time
from pathlib import Path
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

project, pipeline, params = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
bootstrap_project(project)
with KedroSession.create(project_path=project, runtime_params=params) as session:
    start = time.perf_counter()
    session.run(pipeline_names=[pipeline])
    session_seconds = time.perf_counter() - start
print(json.dumps({"session_seconds": session_seconds}))
"""


def load_params(name: str) -> dict[str, Any]:
    """The ``name`` block of the base parameters, resolved as Kedro does."""
    from codepro_leads.config_loader import ProjectConfigLoader
    from codepro_leads.settings import CONFIG_LOADER_ARGS

    loader = ProjectConfigLoader(str(PROJECT_ROOT / "conf"), **CONFIG_LOADER_ARGS)
    return loader["parameters"][name]


def demo_facts() -> dict[str, Any]:
    """demo_data's reference data (the catalog's ``demo_data_facts``)."""
    import yaml

    return yaml.safe_load((PROJECT_ROOT / "conf" / "base" / "demo_data_facts.yml").read_text())


def scratch_project() -> Path:
    """A copy of the project's conf in a temporary folder, so benchmarks never touch data/.

    Removed when the script exits (a 5M-lead inference run leaves 4 GB of files and store);
    with ``CODEPRO_BENCH_KEEP=1`` it stays, e.g. for ``bench_serving.py --project``."""
    root = Path(tempfile.mkdtemp(prefix="codepro-bench-"))
    if os.environ.get("CODEPRO_BENCH_KEEP") != "1":
        atexit.register(shutil.rmtree, root, ignore_errors=True)
    shutil.copytree(PROJECT_ROOT / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    (root / "src").mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def write_demo_leads(path: Path, rows: int, labeled: bool = True) -> None:
    """N demo leads in CodePro's raw format (labeled, or new leads without the label)."""
    from codepro_leads.pipelines.demo_data import nodes

    demo = {**load_params("demo_data"), "rows": rows, "new_rows": rows}
    generate = nodes.generate_labeled_leads if labeled else nodes.generate_new_leads
    frame, _ = generate(demo, demo_facts(), load_params("data_processing"))
    frame.to_csv(path, index=True)


# Starts the measured process and reports its wall time and peak RSS. Linux hands a process the
# peak RSS of the one that spawned it (ru_maxrss survives vfork + exec), so a child of this
# process, which may have just generated 240k leads, would report at least this process's peak.
_LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - start
figures = {"wall_seconds": wall, "peak_rss_mb": usage.ru_maxrss / 1024}
with open(sys.argv[1], "w") as out:
    json.dump({"exit_code": os.waitstatus_to_exitcode(status), "figures": figures}, out)
"""


def timed_process(argv: list[str], cwd: Path | None = None) -> tuple[dict[str, float], str]:
    """Run ``argv`` in a fresh process: ({wall_seconds, peak_rss_mb}, its standard output)."""
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        tempfile.NamedTemporaryFile("r") as result,
    ):
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, result.name, *argv]
        subprocess.run(launcher, cwd=cwd, stdout=out, stderr=err, text=True, check=True)
        measured = json.load(result)
        out.seek(0)
        err.seek(0)
        if measured["exit_code"] != 0:
            sys.exit(f"{shlex.join(argv)} failed:\n{err.read()[-3000:]}")
        return measured["figures"], out.read()


def timed_run(project: Path, pipeline: str, params: dict[str, Any]) -> dict[str, float]:
    """Run one pipeline through ``KedroSession`` in a child process, as an Airflow task does.

    wall: the whole process (imports included); session: ``session.run`` (context set-up,
    kedro-mlflow included); pipeline: the runner alone (nodes and dataset I/O).
    """
    # The promotion rules may not come from runtime parameters: they go to the project's conf.
    params = dict(params)
    training = dict(params.pop("training", {}))
    rules = {k: training.pop(k) for k in ("quality_floor", "registry") if k in training}
    if training:
        params["training"] = training
    if rules:
        conf = project / "conf" / "local" / "parameters_promotion_rules.yml"
        conf.write_text(json.dumps({"training": rules}))  # JSON is YAML
    figures, stdout = timed_process(
        [sys.executable, "-c", _CHILD, str(project), pipeline, json.dumps(params)], cwd=project
    )
    return {**figures, **json.loads(stdout.strip().splitlines()[-1])}


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def report(label: str, runs: list[dict[str, float]]) -> None:
    """Print each run and the medians (shared machines are noisy)."""
    for i, run in enumerate(runs, 1):
        print(f"{label} run {i}: " + ", ".join(f"{k}={v:.2f}" for k, v in run.items()))
    medians = {k: median(runs, k) for k in runs[0]}
    print(f"{label} MEDIAN: " + ", ".join(f"{k}={v:.2f}" for k, v in medians.items()))


def verdict(figure: str, value: float, target: float, unit: str) -> str:
    """``figure: value unit (target < target unit) OK|MISSED``."""
    status = "OK" if value < target else "MISSED"
    return f"{figure}: {value:,.2f} {unit} (target < {target:,.2f} {unit}) {status}"


def print_command() -> None:
    """The command that produced the figures below."""
    print(f"$ {shlex.join([os.path.relpath(sys.executable, PROJECT_ROOT), *sys.argv])}")
