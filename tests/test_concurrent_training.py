"""Two `kedro run --pipelines training` at once on one project, as overlapping Airflow runs or
two data scientists would: both finish, and the champion alias ends on a version that passed
the gate (never on one compared against a champion that had changed meanwhile)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import run_pipeline, set_promotion_rules

pytestmark = pytest.mark.slow

KEDRO = str(Path(sys.executable).with_name("kedro"))
FLOOR = {
    "quality_floor": {"roc_auc": 0.6, "precision": 0.5, "recall": 0.5},
    "registry": {"min_comparison_leads": 100, "tolerance": 0.1},
}


def test_two_trainings_at_once_both_finish_and_one_champion_passed_the_gate(trained_project):
    # New data, so each new model is compared with v1 (trained on the old data); on 4,000
    # drifting demo leads either may score below v1, so a wide tolerance lets both pass the gate
    # and the test is about the race for the alias, not about the gate.
    run_pipeline(trained_project, "demo_data", {"demo_data": {"rows": 4000, "seed": 7}})
    run_pipeline(trained_project, "data_processing")
    set_promotion_rules(trained_project, FLOOR)  # runtime parameters may not change them
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{trained_project / 'mlflow.db'}"}
    # Each with its own seed: two identical runs may both register, or not if one ends
    # before the other looks (a retrain on the same data and parameters registers nothing).
    runs = [
        subprocess.Popen(
            [
                KEDRO,
                "run",
                "--pipelines",
                "training",
                "--params",
                f"training.lightgbm.random_state={seed}",
            ],
            cwd=trained_project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for seed in (1, 2)
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(o[-3000:] for o in outputs)

    client = MlflowClient(f"sqlite:///{trained_project / 'mlflow.db'}")
    versions = {
        str(v.version): v for v in client.search_model_versions("name='codepro-lead-scorer'")
    }
    assert sorted(versions) == ["1", "2", "3"]
    champion = client.get_model_version_by_alias("codepro-lead-scorer", "champion")
    assert str(champion.version) in {"2", "3"}
    # The champion's own decision compared it with the champion it replaced.
    assert champion.tags["promotion"].startswith("test AUC ")
    assert "vs champion v1" in champion.tags["promotion"]
    other = versions[{"2": "3", "3": "2"}[str(champion.version)]]
    assert "champion" not in other.aliases
