"""Nodes that fit, evaluate and package the lead scorer; columns from ``params:training.columns``.

Kedro resolves node type hints at start-up, so LightGBM and the scorer types are imported at the
top; sklearn and matplotlib, used inside nodes only, stay inside them (every ``kedro run``
imports this module).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from codepro_leads.errors import ConfigError, TrainingDataError
from codepro_leads.mlflow_metrics import as_mlflow_metrics
from codepro_leads.pipelines.catalog_types import AlreadyRegistered, Figure
from codepro_leads.pipelines.training.baseline import BaselineModel, fit_baseline
from codepro_leads.pipelines.training.recency import fit_lightgbm
from codepro_leads.pipelines.training.tuning import apply_tuned_params, recency_half_life
from codepro_leads.scoring.calibration import PlattCalibrator
from codepro_leads.scoring.encoder import LeadEncoder
from codepro_leads.scoring.pyfunc import LeadScoringModel
from codepro_leads.scoring.scorer import LeadScorer

logger = logging.getLogger(__name__)


def _check_trainable(leads: pd.DataFrame, params: dict[str, Any]) -> None:
    """Stop with one line when the leads cannot train a model."""
    label, minimum = params["columns"]["label"], params["min_class_leads"]
    if label not in leads.columns:
        raise TrainingDataError(
            f"model_input_leads: training needs the label column {label!r} "
            "(was an unlabeled export processed?)"
        )
    counts = leads[label].value_counts()
    found = {cls: int(counts.get(cls, 0)) for cls in (0, 1)}
    if min(found.values()) < minimum:
        raise TrainingDataError(
            f"model_input_leads: training needs at least {minimum} leads of each class, "
            f"found {found[1]} with {label}=1 and {found[0]} with {label}=0"
        )


def split_leads(
    leads: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train / validation / test leads: out of time (latest leads last) or stratified random."""
    _check_trainable(leads, params)
    split, columns = params["split"], params["columns"]
    label = columns["label"]
    if split["method"] == "out_of_time":
        ordered = _in_time_order(leads, columns)
        n_test = round(len(ordered) * split["test_share"])
        rest, test = ordered.iloc[: len(ordered) - n_test], ordered.iloc[len(ordered) - n_test :]
        n_validation = round(len(rest) * split["validation_share"])
        train = rest.iloc[: len(rest) - n_validation]
        validation = rest.iloc[len(rest) - n_validation :]
    elif split["method"] == "stratified":
        from sklearn.model_selection import train_test_split

        rest, test = train_test_split(
            leads, test_size=split["test_share"], stratify=leads[label], random_state=split["seed"]
        )
        train, validation = train_test_split(
            rest,
            test_size=split["validation_share"],
            stratify=rest[label],
            random_state=split["seed"],
        )
    else:
        raise ConfigError(
            f"training.split.method must be out_of_time or stratified, not {split['method']!r}"
        )
    sizes = [len(part) for part in (leads, train, validation, test)]
    logger.info("Split %d leads: %d train, %d validation, %d test", *sizes)
    return tuple(part.reset_index(drop=True) for part in (train, validation, test))


def _in_time_order(leads: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The leads by creation date, then key (as ``sort_values`` would, 100x faster)."""
    order = np.lexsort((leads[columns["key"]].to_numpy(), leads[columns["date"]].to_numpy()))
    return leads.take(order)


def fit_encoder(train: pd.DataFrame, params: dict[str, Any]) -> LeadEncoder:
    """Fit the rare-level grouping on training leads only."""
    grouping = params["level_grouping"]
    encoder = LeadEncoder.fit(
        train,
        numeric_features=params["features"]["numeric"],
        categorical_features=params["features"]["categorical"],
        coverage=grouping["coverage"],
        fixed_levels=grouping.get("fixed_levels"),
    )
    for col, levels in encoder.categorical_levels.items():
        logger.info("%s: %d levels kept, the rest -> others", col, len(levels))
    return encoder


def _lightgbm_params(params: dict[str, Any], tuned_params: dict[str, Any] | None) -> dict[str, Any]:
    """The configured LightGBM parameters, with model_selection's tuned ones when used."""
    use_tuned = tuned_params if params.get("use_tuned_params", True) else None
    return apply_tuned_params(params["lightgbm"], use_tuned)


def train_classifier(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    encoder: LeadEncoder,
    params: dict[str, Any],
    tuned_params: dict[str, Any] | None = None,
) -> lgb.LGBMClassifier:
    """Recency-weighted LightGBM on the encoded features, optional early stopping;
    ``tuned_params`` (model_selection's) replace the configured ones when used."""
    lightgbm_params = _lightgbm_params(params, tuned_params)
    if lightgbm_params != params["lightgbm"]:
        logger.info(
            "LightGBM with model_selection's tuned parameters: %s", tuned_params["lightgbm"]
        )
    half_life, source = recency_half_life(params, tuned_params)
    logger.info(
        "Recency half-life: %s (%s)",
        "none, unweighted" if half_life is None else f"{half_life:g} days",
        source,
    )
    label, rounds = params["columns"]["label"], params.get("early_stopping_rounds")
    early_stopping: dict[str, Any] = {}
    if rounds:  # only then: else the validation leads are scored after every tree for nothing
        early_stopping = {
            "eval_X": encoder.transform(validation),
            "eval_y": validation[label],
            "callbacks": [lgb.early_stopping(rounds, verbose=False)],
        }
    return fit_lightgbm(
        train, encoder, lightgbm_params, params["columns"], half_life, **early_stopping
    )


def fit_comparisons(
    train: pd.DataFrame,
    encoder: LeadEncoder,
    classifier: lgb.LGBMClassifier,
    params: dict[str, Any],
    tuned_params: dict[str, Any] | None = None,
) -> tuple[lgb.LGBMClassifier, BaselineModel]:
    """The same model unweighted (``classifier`` when it is already) and CodePro's recipe."""
    unweighted = classifier
    if recency_half_life(params, tuned_params)[0] is not None:
        lightgbm_params = _lightgbm_params(params, tuned_params)
        unweighted = fit_lightgbm(train, encoder, lightgbm_params, params["columns"], None)
    return unweighted, fit_baseline(train, params)


def evaluate_comparisons(
    test_raw: np.ndarray,
    unweighted: lgb.LGBMClassifier,
    baseline: BaselineModel,
    encoder: LeadEncoder,
    test: pd.DataFrame,
    params: dict[str, Any],
    tuned_params: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Test AUC of the classifier (its raw scores ``test_raw``), the unweighted fit and
    CodePro's recipe: MLflow metrics and the model card's record that the promotion gate reads."""
    from sklearn.metrics import roc_auc_score

    from codepro_leads.scoring import evaluation

    y_true = test[params["columns"]["label"]].to_numpy()
    auc = float(roc_auc_score(y_true, test_raw))
    half_life, source = recency_half_life(params, tuned_params)
    # fit_comparisons alone decides the twin (the classifier itself when it is unweighted).
    unweighted_auc = float(roc_auc_score(y_true, score_leads(unweighted, encoder, test)))
    cut = params["classification_cut"]
    baseline_metrics = evaluation.classification_metrics(y_true, baseline.predict_proba(test), cut)
    lift = auc - baseline_metrics["roc_auc"]
    logger.info(
        "Test AUC %.4f (recency half-life %s) vs %.4f unweighted; CodePro's recipe %.4f "
        "(lift %+.4f)",
        auc,
        half_life,
        unweighted_auc,
        baseline_metrics["roc_auc"],
        lift,
    )
    record = {
        "recency": {
            "half_life_days": half_life,
            "from": source,
            "test_auc": auc,
            "test_auc_unweighted": unweighted_auc,
        },
        "baseline": {
            "recipe": "CodePro's: its significant levels one-hot, its tuned LightGBM, unweighted",
            "test_auc": baseline_metrics["roc_auc"],
            "test_precision": baseline_metrics["precision"],
            "test_recall": baseline_metrics["recall"],
            "lift": lift,
        },
    }
    on_test = {"unweighted_roc_auc": unweighted_auc, "roc_auc_lift_over_baseline": lift}
    metrics = as_mlflow_metrics(baseline_metrics, prefix="baseline_")
    metrics |= as_mlflow_metrics(on_test, prefix="test_")
    if half_life is not None:
        metrics |= as_mlflow_metrics({"recency_half_life_days": half_life}, prefix="")
    return metrics, record


def score_leads(model: lgb.LGBMClassifier, encoder: LeadEncoder, leads: pd.DataFrame) -> np.ndarray:
    """Raw scores (log-odds) of the leads, computed once for every node that uses them."""
    return model.predict(encoder.transform(leads), raw_score=True)


def fit_calibration(
    validation_raw: np.ndarray, validation: pd.DataFrame, params: dict[str, Any]
) -> PlattCalibrator:
    """Platt scaling on the validation raw scores, kept only if a trial fitted on the first half
    lowers the Brier score on the second; then fitted on all of them."""
    from sklearn.metrics import brier_score_loss

    method = params["calibration"]["method"]
    if method == "none":
        return PlattCalibrator()
    if method != "platt":
        raise ConfigError(f"training.calibration.method must be platt or none, not {method!r}")
    raw, y_true = validation_raw, validation[params["columns"]["label"]].to_numpy()
    half = len(raw) // 2
    trial = PlattCalibrator.fit(raw[:half], y_true[:half])
    identity = PlattCalibrator()
    brier_before = brier_score_loss(y_true[half:], identity(raw[half:]))
    brier_after = brier_score_loss(y_true[half:], trial(raw[half:]))
    if brier_after >= brier_before:
        logger.info("Calibration kept off: Brier %.4f -> %.4f", brier_before, brier_after)
        return identity
    logger.info("Calibration on: held-out Brier %.4f -> %.4f", brier_before, brier_after)
    return PlattCalibrator.fit(raw, y_true)


def build_scorer(
    encoder: LeadEncoder,
    model: lgb.LGBMClassifier,
    calibrator: PlattCalibrator,
    validation_raw: np.ndarray,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    params: dict[str, Any],
) -> LeadScorer:
    """The scorer, with its junk threshold chosen on validation leads (never test) and the
    training distributions drift monitoring compares with."""
    from codepro_leads.scoring import evaluation
    from codepro_leads.scoring.drift import DriftReference

    probability = calibrator(validation_raw)
    threshold = float(
        evaluation.choose_threshold(
            validation[params["columns"]["label"]], probability, params["min_completion_recall"]
        )
    )
    junk_share = float((probability < threshold).mean())
    logger.info(
        "Junk threshold %.4f keeps %.0f%% of validation completions and drops %.1f%% of leads",
        threshold,
        100 * params["min_completion_recall"],
        100 * junk_share,
    )
    reference = DriftReference.fit(encoder, train, junk_share)
    bands, top = dict(params["grade_bands"]), params["top_factors"]
    return LeadScorer(
        encoder, model, calibrator, threshold, bands, reference=reference, top_factors=top
    )


def evaluate_scorer(
    scorer: LeadScorer, raw: np.ndarray, test: pd.DataFrame, params: dict[str, Any]
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Test-set metrics (as MLflow metrics), the per-lead test predictions, the grade table;
    ``raw``: the scorer's raw scores of the test leads."""
    from sklearn.metrics import brier_score_loss

    from codepro_leads.scoring import evaluation

    columns = params["columns"]
    y_true = test[columns["label"]].to_numpy()
    uncalibrated, probability = PlattCalibrator()(raw), scorer.calibrator(raw)
    metrics = {
        # At the usual 0.5 cut, as CodePro's model comparisons (and the quality floor) use.
        **evaluation.classification_metrics(y_true, probability, params["classification_cut"]),
        # At the junk threshold: what sales gets when junk is dropped.
        **evaluation.business_metrics(y_true, probability, scorer.threshold),
        "brier_uncalibrated": float(brier_score_loss(y_true, uncalibrated)),
        "junk_threshold": scorer.threshold,
        "leads": len(test),
    }
    score = evaluation.score_from_probability(probability)
    grades = evaluation.grade_from_score(score, scorer.grade_bands)
    predictions = pd.DataFrame(
        {
            columns["key"]: test[columns["key"]].to_numpy(),
            columns["label"]: y_true,
            "raw_probability": uncalibrated,
            "probability": probability,
            "score": score,
            "grade": grades,
        }
    )
    grade_table = evaluation.grade_table(y_true, grades, scorer.grade_bands)
    logger.info(
        "Test: AUC %.4f, precision %.3f, recall %.3f; junk share %.3f keeps %.3f of completions",
        metrics["roc_auc"],
        metrics["precision"],
        metrics["recall"],
        metrics["junk_share"],
        metrics["completions_kept"],
    )
    return as_mlflow_metrics(metrics, prefix="test_"), predictions, grade_table


def best_achievable_auc(
    test: pd.DataFrame, true_propensity: pd.DataFrame | None, params: dict[str, Any]
) -> dict[str, Any]:
    """AUC of the true propensity on the test leads, the ceiling for any model (demo leads only:
    nothing when the propensity is absent or of other leads)."""
    if true_propensity is None:
        return {}
    from sklearn.metrics import roc_auc_score

    columns = params["columns"]
    on = [columns["key"], columns["date"]]
    known = test[[*on, columns["label"]]].merge(
        # Keys are text as the export writes them (the demo stores them as numbers).
        true_propensity.astype({"lead_id": str}).rename(
            columns={"lead_id": columns["key"], "created_date": columns["date"]}
        ),
        on=on,
        how="left",
    )
    if known["propensity"].isna().any():
        logger.info("True propensity does not match these leads (real data?): no ceiling AUC")
        return {}
    auc = float(roc_auc_score(known[columns["label"]], known["propensity"]))
    logger.info("Best achievable test AUC (true propensity): %.4f", auc)
    return as_mlflow_metrics({"best_achievable_auc": auc}, prefix="test_")


def fingerprint_data(
    train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame, params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Rows, label rate, date range, the fitting window and a row-order-independent hash."""
    columns = params["columns"]
    date = columns["date"]
    leads = _in_time_order(pd.concat([train, validation, test], ignore_index=True), columns)
    content = pd.util.hash_pandas_object(leads, index=False).to_numpy().tobytes()
    fitted_on = pd.concat([train[date], validation[date]])
    fingerprint = {
        "rows": len(leads),
        "label_rate": float(leads[columns["label"]].mean()),
        "first_created": str(leads[date].min()),
        "last_created": str(leads[date].max()),
        # Leads after this date were never used to fit or calibrate the model.
        "fit_until": str(fitted_on.max()),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    metrics = {"rows": fingerprint["rows"], "label_rate": fingerprint["label_rate"]}
    return fingerprint, as_mlflow_metrics(metrics, prefix="data_")


def training_key(
    fingerprint: dict[str, Any],
    params: dict[str, Any],
    processing_params: dict[str, Any],
    tuned_params: dict[str, Any] | None,
) -> str:
    """A hash of what decides the model and its promotion: the data and every parameter."""
    inputs = {
        "data_sha256": fingerprint["sha256"],
        "training": params,
        "data_processing": processing_params,
        "tuned": tuned_params,
    }
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def package_model(
    scorer: LeadScorer,
    raw_example: pd.DataFrame,
    fingerprint: dict[str, Any],
    comparison: dict[str, Any],
    baseline_comparison: dict[str, Any],
    processing_params: dict[str, Any],
    key: str,
    identical: dict[str, Any],
) -> tuple[LeadScoringModel | AlreadyRegistered, dict[str, Any]]:
    """The MLflow model (or, when ``identical``, the version already registered) and its card."""
    # New leads come without the label: so does the example the signature is inferred from.
    example = raw_example.drop(columns=processing_params["label_column"], errors="ignore")
    model = LeadScoringModel(scorer, processing_params, example, training_data=fingerprint)
    card = {
        "training_key": key,
        "features": scorer.encoder.feature_names,
        "kept_levels": {col: list(v) for col, v in scorer.encoder.categorical_levels.items()},
        "threshold": scorer.threshold,
        "grade_bands": scorer.grade_bands,
        "calibration": {"slope": scorer.calibrator.slope, "intercept": scorer.calibrator.intercept},
        "training_data": fingerprint,
        **baseline_comparison,
        "champion_comparison": comparison,
    }
    if identical:
        return AlreadyRegistered(version=identical["version"]), card
    return model, card


def plot_evaluation(
    predictions: pd.DataFrame, grade_table: pd.DataFrame, scorer: LeadScorer, params: dict[str, Any]
) -> tuple[Figure, Figure, Figure, Figure, Figure, Figure]:
    """ROC, precision-recall, calibration, importance, score and grade charts of the test leads."""
    from codepro_leads.scoring import plots

    y_true = predictions[params["columns"]["label"]].to_numpy()
    probability = predictions["probability"].to_numpy()
    before = predictions["raw_probability"].to_numpy()
    gain = scorer.model.booster_.feature_importance(importance_type="gain")
    return (
        plots.roc_figure(y_true, probability),
        plots.precision_recall_figure(y_true, probability),
        plots.calibration_figure(
            y_true, {"before calibration": before, "after calibration": probability}
        ),
        plots.feature_importance_figure(pd.Series(gain, index=scorer.encoder.feature_names)),
        plots.score_distribution_figure(y_true, predictions["score"].to_numpy()),
        plots.grade_completion_figure(grade_table),
    )
