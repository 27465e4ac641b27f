"""Start-up: ``kedro run --pipelines data_processing`` on N raw leads, whole process, against
importing libraries in a bare Python.

Two baselines, each a fresh ``python -c`` per repeat:
- issue: importing the libraries issue 24 lists (kedro, mlflow, kedro_mlflow, pandas,
  pyarrow, lightgbm, sklearn). Target: the run takes at most 1.5x this.
- loaded: importing every module the run itself ended up with (``sys.modules`` at its exit),
  so the ratio shows what the run costs beyond its imports (session, config, catalog, nodes).

    .venv/bin/python benchmarks/bench_startup.py --rows 100 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness import (
    median,
    print_command,
    report,
    scratch_project,
    timed_process,
    write_demo_leads,
)

ISSUE_LIBRARIES = ["kedro", "mlflow", "kedro_mlflow", "pandas", "pyarrow", "lightgbm", "sklearn"]
TARGET_RATIO = 1.5

# `kedro run` in-process, writing the names of the modules it loaded when the process exits.
_LIST_MODULES = """
import atexit, json, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: json.dump(list(sys.modules), open(out, "w")))
sys.argv[0] = "kedro"
runpy.run_module("kedro", run_name="__main__")
"""

# Import each listed module; one that only imports in its own context is skipped.
_IMPORT_ALL = """
import importlib, json, sys
for name in json.load(open(sys.argv[1])):
    try:
        importlib.import_module(name)
    except BaseException:
        pass
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    project = scratch_project()
    raw = project / f"leads_{args.rows}.csv"
    write_demo_leads(raw, args.rows)
    python = sys.executable
    kedro = str(Path(python).with_name("kedro"))
    run_args = ["run", "--pipelines", "data_processing", "--params", f"raw_leads_path={raw}"]

    modules = project / "loaded_modules.json"
    timed_process([python, "-c", _LIST_MODULES, str(modules), *run_args], cwd=project)
    loaded = json.loads(modules.read_text())
    bare_issue = f"import {', '.join(ISSUE_LIBRARIES)}"

    # Interleaved, so that a busy minute hits all three alike.
    runs, issue, everything = [], [], []
    for _ in range(args.repeats):
        runs.append(timed_process([kedro, *run_args], cwd=project)[0])
        issue.append(timed_process([python, "-c", bare_issue], cwd=project)[0])
        everything.append(timed_process([python, "-c", _IMPORT_ALL, str(modules)], cwd=project)[0])

    print_command()
    print(f"  run:    kedro run {' '.join(run_args[1:])}  (in a scratch project, {args.rows} rows)")
    print(f"  issue:  python -c {bare_issue!r}")
    print(f"  loaded: python -c 'import <each of the {len(loaded)} modules the run loaded>'")
    report("kedro run data_processing", runs)
    report("bare import, issue's libraries", issue)
    report("bare import, modules the run loaded", everything)
    wall = median(runs, "wall_seconds")
    vs_issue = wall / median(issue, "wall_seconds")
    vs_loaded = wall / median(everything, "wall_seconds")
    status = "OK" if vs_issue <= TARGET_RATIO else "MISSED"
    print(
        f"start-up: kedro run {wall:.2f} s = {vs_issue:.2f}x the bare import of the issue's "
        f"libraries (target <= {TARGET_RATIO}x) {status}; {vs_loaded:.2f}x the bare import of "
        "the modules the run loaded"
    )
    heavy = [lib for lib in ("mlflow", "sqlalchemy", "lightgbm", "matplotlib") if lib in loaded]
    print(f"  heavy libraries the run imported: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
