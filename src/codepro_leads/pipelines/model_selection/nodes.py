"""Nodes that compare models with pycaret and tune LightGBM on the training pipeline's own
features, encoding and out-of-time split. pycaret is imported only inside ``select_models``,
within :func:`isolated_global_state`."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import numpy as np
import pandas as pd

from codepro_leads.mlflow_metrics import as_mlflow_metrics
from codepro_leads.pipelines.model_selection.isolation import isolated_global_state
from codepro_leads.pipelines.training.nodes import fit_encoder, split_leads

logger = logging.getLogger(__name__)

# pycaret's own log records (warnings and failures only) go to the run log through this logger.
PYCARET_LOGGER = f"{__name__}.pycaret"


def prepare_selection_data(
    leads: pd.DataFrame, training_params: dict[str, Any], selection_params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Encoded training and validation leads, exactly as the training pipeline makes them.

    Training's split (test leads are never used here), training's encoder fitted on the
    training leads, then a random sample of ``sample_rows`` training leads (validation leads
    sampled at the same rate), kept in time order. Returns feature frames with the label.
    """
    label = training_params["columns"]["label"]
    train, validation, _test = split_leads(leads, training_params)
    encoder = fit_encoder(train, training_params)
    sample_rows = selection_params.get("sample_rows")
    seed = selection_params["seed"]
    if sample_rows and sample_rows < len(train):
        share = sample_rows / len(train)
        train = train.sample(n=sample_rows, random_state=seed).sort_index()
        validation = validation.sample(
            n=max(1, round(len(validation) * share)), random_state=seed
        ).sort_index()
    frames = tuple(
        encoder.transform(part).assign(**{label: part[label].to_numpy()}).reset_index(drop=True)
        for part in (train, validation)
    )
    logger.info(
        "Model selection on %d training leads (CV) and %d validation leads (holdout); features: %s",
        len(frames[0]),
        len(frames[1]),
        ", ".join(encoder.feature_names),
    )
    return frames


def plain(value: Any) -> Any:
    """numpy scalars (as in ``get_params()``) -> Python values, for YAML and JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _metric_name(name: str) -> str:
    """pycaret's metric names (AUC, Prec., ...) kept, with characters MLflow refuses dropped."""
    return re.sub(r"[^\w\-. /:]", "", name).strip()


def _cv_mean(cv_results: pd.DataFrame) -> dict[str, float]:
    return {_metric_name(k): float(v) for k, v in cv_results.loc["Mean"].items()}


def select_models(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    training_params: dict[str, Any],
    selection_params: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """pycaret ``setup`` + ``compare_models`` + ``tune_model`` of training's LightGBM.

    The leaderboard compares pycaret's default models by cross-validation on ``train``
    (``holdout``: pycaret's hold-out set, the validation leads). Then LightGBM with training's
    configuration is cross-validated and tuned (random search, ``n_iter`` draws); pycaret keeps
    the configuration that scores better (``choose_better``) and the winner is recorded.

    Returns the leaderboard, MLflow metrics (each model's mean CV metrics, the configuration
    before and after tuning), the tuned LightGBM parameters for training
    (``{"lightgbm": {...}, "tuning_won": bool, ...}``) and a result record for the run.
    """
    label = training_params["columns"]["label"]
    features = [col for col in train.columns if col != label]
    categorical = [col for col in features if isinstance(train[col].dtype, pd.CategoricalDtype)]
    metric = selection_params["metric"]
    models = selection_params["models"]
    started = time.perf_counter()
    with isolated_global_state():
        pycaret_logger = logging.getLogger(PYCARET_LOGGER)
        pycaret_logger.setLevel(logging.WARNING)  # undone on exit, with every logger change
        from lightgbm import LGBMClassifier
        from pycaret.classification import ClassificationExperiment

        experiment = ClassificationExperiment()
        experiment.setup(
            data=train,
            target=label,
            test_data=holdout,
            index=False,
            numeric_features=[col for col in features if col not in categorical],
            categorical_features=categorical,
            fold=selection_params["folds"],
            fold_strategy=selection_params["fold_strategy"],
            fold_shuffle=selection_params["fold_strategy"] != "timeseries",
            data_split_shuffle=False,
            session_id=selection_params["seed"],
            n_jobs=selection_params["n_jobs"],
            log_experiment=False,  # crashes on MLflow 3; kedro-mlflow logs the outputs instead
            system_log=pycaret_logger,
            memory=False,
            html=False,
            verbose=False,
        )
        setup_seconds = time.perf_counter() - started
        experiment.compare_models(
            include=models.get("include"),
            exclude=models.get("exclude"),
            sort=metric,
            n_select=1,
            errors=selection_params["errors"],
            verbose=False,
        )
        leaderboard = experiment.pull()
        # What compare_models was asked to run (its default: pycaret's turbo models).
        available = experiment.models()
        requested = set(
            models.get("include")
            or set(available.index[available["Turbo"]]) - set(models.get("exclude") or [])
        )
        compare_seconds = time.perf_counter() - started - setup_seconds

        # One thread per model: pycaret already runs folds and search draws in parallel
        # (n_jobs), and nested LightGBM threads oversubscribe the cores (tuning 6x slower on 2).
        configured = experiment.create_model(
            LGBMClassifier(**{**training_params["lightgbm"], "n_jobs": 1}), verbose=False
        )
        configured_cv = _cv_mean(experiment.pull())
        tuned = experiment.tune_model(
            configured,
            n_iter=selection_params["n_iter"],
            optimize=metric,
            choose_better=True,
            verbose=False,
        )
        tuned_cv = _cv_mean(experiment.pull())  # the tuned candidate's, even when it lost
        tune_seconds = time.perf_counter() - started - setup_seconds - compare_seconds
        winner_params = plain(tuned.get_params())
        tuning_won = winner_params != plain(configured.get_params())

    leaderboard = leaderboard.rename_axis("id").reset_index()
    failed = sorted(requested - set(leaderboard["id"]))
    if failed:  # only with errors: ignore
        logger.warning("Models that failed and are not on the leaderboard: %s", ", ".join(failed))
    metric_key = _metric_name(metric)
    metrics: dict[str, float] = {}
    for row in leaderboard.to_dict("records"):
        for name, value in row.items():
            if name not in ("id", "Model", "TT (Sec)"):
                metrics[f"cv_{row['id']}_{_metric_name(name)}"] = value
        metrics[f"cv_{row['id']}_fit_seconds"] = row["TT (Sec)"]
    metrics.update({f"cv_lightgbm_configured_{k}": v for k, v in configured_cv.items()})
    metrics.update({f"cv_lightgbm_tuned_{k}": v for k, v in tuned_cv.items()})
    metrics.update(
        tuning_won=float(tuning_won),
        selection_rows=len(train),
        selection_setup_seconds=setup_seconds,
        selection_compare_seconds=compare_seconds,
        selection_tune_seconds=tune_seconds,
    )
    exported = {
        name: winner_params[name]
        for name in selection_params["export_lightgbm_params"]
        if name in winner_params
    }
    tuned_params = {
        "lightgbm": exported,
        "tuning_won": bool(tuning_won),
        "metric": metric,
        f"cv_{metric_key}_configured": configured_cv[metric_key],
        f"cv_{metric_key}_tuned": tuned_cv[metric_key],
        "rows": len(train),
        "folds": selection_params["folds"],
    }
    best = leaderboard.iloc[0]
    result = {
        "failed_models": failed,
        "best_model": {"id": best["id"], "name": best["Model"], metric_key: float(best[metric])},
        "leaderboard_metric": metric,
        "tuning": {**tuned_params, "winner_params": winner_params},
        "seconds": {
            "setup": round(setup_seconds, 1),
            "compare": round(compare_seconds, 1),
            "tune": round(tune_seconds, 1),
        },
    }
    logger.info(
        "Best model by %s: %s (%.4f). LightGBM CV %s: training's configuration %.4f, tuned "
        "%.4f -> %s kept. Setup %.0f s, compare %.0f s, tune %.0f s",
        metric,
        best["Model"],
        best[metric],
        metric,
        configured_cv[metric_key],
        tuned_cv[metric_key],
        "tuned" if tuning_won else "training's configuration",
        setup_seconds,
        compare_seconds,
        tune_seconds,
    )
    return leaderboard, as_mlflow_metrics(metrics, prefix=""), tuned_params, plain(result)


def leaderboard_html(leaderboard: pd.DataFrame) -> str:
    """The leaderboard as an HTML table (best model first)."""
    return leaderboard.to_html(index=False, float_format=lambda v: f"{v:.4f}", border=0)
