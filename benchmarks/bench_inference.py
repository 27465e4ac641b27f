"""Inference end to end on N raw new leads, streamed in batches: read the CSV, process, score
with explanations, store in SQLite, write the parquet and CRM CSV, monitor drift. Prints wall
seconds, peak RSS and leads per second of each run and their medians.

Targets (issue 24, 2 cores): 1M leads at most 20 s for the whole process, and peak memory at
most 1 GB whatever the size of the file (1M and 5M leads).

Every run scores the file as new leads: each starts from the score store as training left it
(``--rescore`` keeps the store between runs instead, so every row of the later runs replaces
one stored by the run before, which SQLite does more slowly).

    .venv/bin/python benchmarks/bench_inference.py              # 1M leads, 3 runs
    .venv/bin/python benchmarks/bench_inference.py --5m         # 5M leads: the memory target
    .venv/bin/python benchmarks/bench_inference.py --rows 200000 --batch-size 50000
"""

from __future__ import annotations

import argparse
import os
import shutil

from harness import (
    median,
    print_command,
    report,
    scratch_project,
    timed_run,
    verdict,
    write_demo_leads,
)

# The benchmark needs a champion whatever the demo model's quality: no floor.
NO_FLOOR = {"training": {"quality_floor": {"roc_auc": 0.0, "precision": 0.0, "recall": 0.0}}}
TARGET_SECONDS_1M, TARGET_PEAK_MB = 20.0, 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--5m", dest="five_million", action="store_true", help="5,000,000 leads")
    parser.add_argument("--training-rows", type=int, default=240_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--batch-size", type=int, default=None, help="inference.batch_size (default: the base)"
    )
    parser.add_argument("--rescore", action="store_true", help="keep the store between runs")
    args = parser.parse_args()
    rows = 5_000_000 if args.five_million else args.rows

    project = scratch_project()
    os.environ.pop("LEAD_SCORES_DB_URL", None)  # the scratch project's own store
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{project / 'mlflow.db'}"
    labeled, new = project / "leads.csv", project / "new_leads.csv"
    write_demo_leads(labeled, args.training_rows)
    write_demo_leads(new, rows, labeled=False)
    timed_run(project, "data_processing", {"raw_leads_path": str(labeled)})
    timed_run(project, "training", NO_FLOOR)

    params = {"new_leads_path": str(new)}
    if args.batch_size:
        params["inference"] = {"batch_size": args.batch_size}
    store = project / "data" / "lead_scores.db"  # the default of globals.lead_scores_db_url
    trained = store.with_name("lead_scores.trained.db")
    if store.exists():
        shutil.copyfile(store, trained)  # training's alias history, no scores yet
    runs = []
    for _ in range(args.repeats):
        if not args.rescore:
            store.unlink(missing_ok=True)
            if trained.exists():
                shutil.copyfile(trained, store)
        run = timed_run(project, "inference", params)
        run["leads_per_second"] = rows / run["wall_seconds"]
        runs.append(run)
    print_command()
    report(f"inference {rows:,} leads", runs)
    target_seconds = TARGET_SECONDS_1M * rows / 1_000_000
    print(verdict("inference wall", median(runs, "wall_seconds"), target_seconds, "s"))
    print(verdict("inference peak RSS", median(runs, "peak_rss_mb"), TARGET_PEAK_MB, "MB"))
    print(f"leads per second: {median(runs, 'leads_per_second'):,.0f}")


if __name__ == "__main__":
    main()
