"""Nodes that compare models with pycaret and tune LightGBM on training's own features, encoding
and split; pycaret is imported only within :func:`isolated_global_state`."""

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
from codepro_leads.pipelines.training.recency import choose_half_life, compare_half_lives
from codepro_leads.pipelines.training.tuning import apply_tuned_params

logger = logging.getLogger(__name__)

# pycaret's warnings and failures reach the run log through this logger.
PYCARET_LOGGER = f"{__name__}.pycaret"


def prepare_selection_data(
    leads: pd.DataFrame, training_params: dict[str, Any], selection_params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training's encoded training and validation leads with the label; at most ``sample_rows``
    training leads, validation leads sampled at the same rate, in time order."""
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
    """pycaret's ``compare_models`` (CV on ``train``) and ``tune_model`` of training's LightGBM:
    the leaderboard, MLflow metrics, the LightGBM parameters for training and a result record."""
    metric, metric_key = selection_params["metric"], _metric_name(selection_params["metric"])
    run = _run_pycaret(train, holdout, training_params, selection_params)
    leaderboard, seconds = run["leaderboard"].rename_axis("id").reset_index(), run["seconds"]
    failed = sorted(run["requested"] - set(leaderboard["id"]))
    if failed:  # only with errors: ignore
        logger.warning("Models that failed and are not on the leaderboard: %s", ", ".join(failed))
    scores = leaderboard.drop(columns="Model").rename(columns={"TT (Sec)": "fit_seconds"})
    metrics: dict[str, float] = {}
    for row in scores.to_dict("records"):
        model = row.pop("id")
        metrics.update({f"cv_{model}_{_metric_name(name)}": value for name, value in row.items()})
    for stage in ("configured", "tuned"):
        metrics.update({f"cv_lightgbm_{stage}_{k}": v for k, v in run[stage].items()})
    metrics.update(
        {f"selection_{stage}_seconds": value for stage, value in seconds.items()},
        tuning_won=float(run["tuning_won"]),
        selection_rows=len(train),
    )
    winner = run["winner_params"]
    tuned_params = {
        "lightgbm": {
            k: winner[k] for k in selection_params["export_lightgbm_params"] if k in winner
        },
        "tuning_won": run["tuning_won"],
        "metric": metric,
        f"cv_{metric_key}_configured": run["configured"][metric_key],
        f"cv_{metric_key}_tuned": run["tuned"][metric_key],
        "rows": len(train),
        "folds": selection_params["folds"],
    }
    best = leaderboard.iloc[0]
    result = {
        "failed_models": failed,
        "best_model": {"id": best["id"], "name": best["Model"], metric_key: float(best[metric])},
        "leaderboard_metric": metric,
        "tuning": {**tuned_params, "winner_params": winner},
        "seconds": {stage: round(value, 1) for stage, value in seconds.items()},
    }
    logger.info(
        "Best model by %s: %s (%.4f). LightGBM CV %s: training's configuration %.4f, tuned "
        "%.4f -> %s kept. Setup %.0f s, compare %.0f s, tune %.0f s",
        metric,
        best["Model"],
        best[metric],
        metric,
        run["configured"][metric_key],
        run["tuned"][metric_key],
        "tuned" if run["tuning_won"] else "training's configuration",
        *seconds.values(),
    )
    return leaderboard, as_mlflow_metrics(metrics, prefix=""), tuned_params, plain(result)


def _run_pycaret(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    training_params: dict[str, Any],
    selection_params: dict[str, Any],
) -> dict[str, Any]:
    """pycaret's leaderboard, the models asked for, LightGBM's CV metrics before and after
    tuning, the winner's parameters and each stage's seconds."""
    label = training_params["columns"]["label"]
    features = [col for col in train.columns if col != label]
    categorical = [col for col in features if isinstance(train[col].dtype, pd.CategoricalDtype)]
    metric, models = selection_params["metric"], selection_params["models"]
    marks = [time.perf_counter()]
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
        marks.append(time.perf_counter())
        include, exclude = models.get("include"), models.get("exclude")
        experiment.compare_models(
            include=include,
            exclude=exclude,
            sort=metric,
            n_select=1,
            errors=selection_params["errors"],
            verbose=False,
        )
        leaderboard = experiment.pull()
        # What compare_models was asked to run (its default: pycaret's turbo models).
        available = experiment.models()
        requested = set(include or set(available.index[available["Turbo"]]) - set(exclude or []))
        marks.append(time.perf_counter())
        # One thread per model: pycaret already runs folds and search draws in parallel
        # (n_jobs), and nested LightGBM threads would oversubscribe the cores.
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
        marks.append(time.perf_counter())
    winner_params = plain(tuned.get_params())
    return {
        "leaderboard": leaderboard,
        "requested": requested,
        "configured": configured_cv,
        "tuned": tuned_cv,
        "winner_params": winner_params,
        "tuning_won": winner_params != plain(configured.get_params()),
        "seconds": dict(zip(("setup", "compare", "tune"), np.diff(marks).tolist(), strict=True)),
    }


# compare_half_lives' columns -> pycaret's leaderboard columns.
_LEADERBOARD_COLUMNS = {
    "accuracy": "Accuracy",
    "validation_auc": "AUC",
    "recall": "Recall",
    "precision": "Prec.",
    "f1": "F1",
    "kappa": "Kappa",
    "mcc": "MCC",
    "fit_seconds": "TT (Sec)",
}


def compare_recency(
    leads: pd.DataFrame,
    pycaret_leaderboard: pd.DataFrame,
    tuned_params: dict[str, Any],
    training_params: dict[str, Any],
    selection_params: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Training's (tuned) LightGBM with each candidate recency half-life, judged on the validation
    leads: the leaderboard with a row per candidate after pycaret's, the tuned parameters with
    the chosen ``recency_half_life_days`` (None: unweighted) and MLflow metrics."""
    recency = selection_params["recency"]
    columns = training_params["columns"]
    train, validation, _test = split_leads(leads, training_params)
    encoder = fit_encoder(train, training_params)
    lightgbm_params = apply_tuned_params(training_params["lightgbm"], tuned_params)
    board = compare_half_lives(
        train, validation, encoder, lightgbm_params, columns, recency["half_life_candidates"]
    )
    chosen = choose_half_life(board, recency["min_gain"])
    names = [_recency_name(h) for h in board["half_life_days"]]
    aucs = dict(zip(names, board["validation_auc"], strict=True))
    rows = board.rename(columns=_LEADERBOARD_COLUMNS).assign(
        id=[f"lightgbm_{name}" for name in names],
        Model=[
            "LightGBM (training's), "
            + ("unweighted" if pd.isna(h) else f"recency half-life {h:g} days")
            for h in board["half_life_days"]
        ],
    )
    rows["Evaluated on"] = (
        f"validation leads (out of time): {len(validation)}, fitted on {len(train)}"
    )
    rows = rows.sort_values("AUC", ascending=False, kind="stable")
    cv = f"{selection_params['folds']}-fold CV ({selection_params['fold_strategy']})"
    leaderboard = pd.concat(
        [
            pycaret_leaderboard.assign(**{"Evaluated on": cv}),
            rows[pycaret_leaderboard.columns.tolist() + ["Evaluated on"]],
        ],
        ignore_index=True,
    )
    metrics = {f"validation_auc_{name}": auc for name, auc in aucs.items()}
    metrics["recency_weighting_won"] = float(chosen is not None)
    if chosen is not None:
        metrics["recency_half_life_days"] = chosen
    logger.info(
        "Recency half-life by validation AUC: %s; %s",
        ", ".join(f"{name} {auc:.4f}" for name, auc in aucs.items()),
        f"{chosen:g} days chosen" if chosen is not None else "unweighted kept",
    )
    tuned = {**tuned_params, "recency_half_life_days": chosen, "recency_validation_auc": aucs}
    return leaderboard, tuned, as_mlflow_metrics(metrics, prefix="")


def _recency_name(half_life: float | None) -> str:
    return "unweighted" if pd.isna(half_life) else f"half_life_{half_life:g}_days"


def leaderboard_html(leaderboard: pd.DataFrame) -> str:
    """The leaderboard as an HTML table (best model first)."""
    return leaderboard.to_html(index=False, float_format=lambda v: f"{v:.4f}", border=0)
