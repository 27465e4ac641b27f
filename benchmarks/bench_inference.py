"""Inference end to end on N raw new leads: read CSV, process, score with explanations, write
parquet + SQLite + CRM CSV, monitor drift. Prints wall seconds, peak RSS and leads per second.

Target (2 cores): 1M leads under 60 s wall and 3 GB peak RSS.

    .venv/bin/python benchmarks/bench_inference.py --rows 1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import os

from harness import report, scratch_project, timed_run, write_demo_leads

# The benchmark needs a champion whatever the demo model's quality: no floor.
NO_FLOOR = {"training": {"quality_floor": {"roc_auc": 0.0, "precision": 0.0, "recall": 0.0}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--training-rows", type=int, default=240_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    project = scratch_project()
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{project / 'mlflow.db'}"
    labeled, new = project / "leads.csv", project / "new_leads.csv"
    write_demo_leads(labeled, args.training_rows)
    write_demo_leads(new, args.rows, labeled=False)
    timed_run(project, "data_processing", {"raw_leads_path": str(labeled)})
    timed_run(project, "training", NO_FLOOR)

    runs = []
    for _ in range(args.repeats):
        run = timed_run(project, "inference", {"new_leads_path": str(new)})
        run["leads_per_second"] = args.rows / run["wall_seconds"]
        runs.append(run)
    report(f"inference {args.rows:,} leads", runs)


if __name__ == "__main__":
    main()
