"""Training pipeline on N demo leads (data_processing first, untimed), whole process: wall
seconds including MLflow logging and registration, the model fit alone, and peak RSS.

Each run is ``KedroSession.create(...).run(pipeline_names=["training"])`` in a fresh Python
process against a new SQLite MLflow store of its own, created before the timed run as a
deployment's store exists before its first training (MLflow migrating an empty database
adds about a second, once per store); so every run logs and registers its model.

Target (issue 24, 2 cores): 240k leads in at most 15 s, MLflow logging and registration
included.

    .venv/bin/python benchmarks/bench_training.py --rows 240000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from harness import (
    load_params,
    median,
    print_command,
    report,
    scratch_project,
    timed_run,
    verdict,
    write_demo_leads,
)

TARGET_SECONDS = 15


def fit_seconds(project) -> float:
    """The LightGBM fit alone, on the pipeline's own split of model_input_leads (same
    parameters; the split itself is an in-memory hand-off of the pipeline)."""
    import pandas as pd

    from codepro_leads.pipelines.training import nodes

    params = load_params("training")
    leads = pd.read_parquet(project / "data/05_model_input/model_input_leads.parquet")
    train, validation, _ = nodes.split_leads(leads, params)
    encoder = nodes.fit_encoder(train, params)
    start = time.perf_counter()
    nodes.train_classifier(train, validation, encoder, params)
    return time.perf_counter() - start


def create_store(uri: str) -> None:
    """The MLflow store's tables, as ``mlflow db upgrade`` or a server's first start makes
    them (tracking and registry share the database)."""
    from mlflow.tracking import MlflowClient

    MlflowClient(uri).search_experiments()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=240_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    project = scratch_project()
    raw = project / "leads.csv"
    write_demo_leads(raw, args.rows)
    timed_run(project, "data_processing", {"raw_leads_path": str(raw)})
    runs = []
    for repeat in range(args.repeats):
        # A store per run: in one store, a retrain on the same data and parameters registers
        # nothing (it names the identical version), so later runs would skip model logging.
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{project / f'mlflow-{repeat}.db'}"
        create_store(os.environ["MLFLOW_TRACKING_URI"])
        runs.append(timed_run(project, "training", {}))
    print_command()
    label = f"training {args.rows:,} leads"
    report(label, runs)
    print(verdict(f"{label} wall", median(runs, "wall_seconds"), TARGET_SECONDS, "s"))
    fits = [fit_seconds(project) for _ in range(args.repeats)]
    print(
        f"  training {args.rows:,} leads, model fit alone, seconds: {np.round(fits, 2).tolist()}, "
        f"MEDIAN {np.median(fits):.2f}"
    )


if __name__ == "__main__":
    main()
