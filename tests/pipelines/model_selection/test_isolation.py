"""select_models runs pycaret (2 folds, 2 models) in a fresh Python process, where pycaret's
import-time side effects really happen, and checks that none of them outlives the node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import yaml

from tests.conftest import PROJECT_ROOT

SCRIPT = textwrap.dedent(
    """
    import json, logging, os, sys, warnings

    import matplotlib as mpl
    import numpy as np
    import sklearn
    import yaml

    from codepro_leads.pipelines.model_selection import nodes
    from tests.conftest import load_params
    from tests.pipelines.model_selection.test_nodes import synthetic_leads

    assert "pycaret" not in sys.modules
    training = load_params("training")
    selection = {
        **load_params("model_selection"),
        "sample_rows": None, "folds": 2, "n_iter": 2, "n_jobs": 1,
        "models": {"include": ["lr", "lightgbm"], "exclude": None},
    }
    train, holdout = nodes.prepare_selection_data(synthetic_leads(1200), training, selection)

    def state():
        return {
            "rc": dict(mpl.rcParams),
            "showwarning": warnings.showwarning,
            "filters": list(warnings.filters),
            "rng": np.random.get_state()[1].tolist(),
            "sklearn": sklearn.get_config(),
            "root_handlers": list(logging.getLogger().handlers),
            "logs_handlers": list(logging.getLogger("logs").handlers),
            "cwd": os.getcwd(),
            "files": sorted(os.listdir(".")),
        }

    # The process's own warning handler (Kedro's logging set-up may have installed another):
    # later warnings must still reach it, not pycaret's logs.log.
    received = []
    warnings.showwarning = lambda message, *args, **kwargs: received.append(str(message))
    before = state()
    leaderboard, metrics, tuned, result = nodes.select_models(train, holdout, training, selection)
    after = state()
    import pycaret.internal.logging as pycaret_logging

    warnings.warn("a warning after pycaret ran", UserWarning)
    print(json.dumps({
        "changed": sorted(k for k in before if before[k] != after[k]),
        "rc_changed": sorted(k for k in before["rc"] if before["rc"][k] != after["rc"][k]),
        "pycaret_replaced_showwarning": pycaret_logging._warnings_showwarning is not None,
        "leaderboard": dict(zip(leaderboard["id"], leaderboard["AUC"])),
        "metrics": sorted(metrics),
        "tuned_yaml": yaml.safe_dump(tuned),
        "files": after["files"],
        "received": received,
    }))
    """
)


def test_pycaret_side_effects_do_not_outlive_the_node(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("PYCARET_CUSTOM_LOGGING_PATH", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    # pycaret did replace the warning hook (and yellowbrick the rcParams) inside the node ...
    assert report["pycaret_replaced_showwarning"]
    # ... and nothing of it is left: warnings, rcParams, RNG, sklearn config, loggers, cwd.
    assert report["changed"] == []
    assert report["rc_changed"] == []
    assert "a warning after pycaret ran" in report["received"]
    assert report["files"] == [] and not (tmp_path / "logs.log").exists()

    assert set(report["leaderboard"]) == {"lr", "lightgbm"}
    assert all(0.5 < auc <= 1.0 for auc in report["leaderboard"].values())
    for name in ("cv_lr_AUC", "cv_lightgbm_AUC", "cv_lightgbm_configured_AUC",
                 "cv_lightgbm_tuned_AUC", "tuning_won"):  # fmt: skip
        assert name in report["metrics"]
    tuned = yaml.safe_load(report["tuned_yaml"])  # plain YAML: no numpy tags
    assert "!!python" not in report["tuned_yaml"]
    assert set(tuned["lightgbm"]) == {
        "num_leaves", "learning_rate", "n_estimators", "min_split_gain", "reg_alpha",
        "reg_lambda", "feature_fraction", "bagging_fraction", "bagging_freq", "min_child_samples",
    }  # fmt: skip
    assert isinstance(tuned["tuning_won"], bool) and tuned["folds"] == 2
