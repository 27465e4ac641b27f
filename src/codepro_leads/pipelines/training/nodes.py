"""Nodes that fit, evaluate and package the lead scorer."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import lightgbm as lgb
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from codepro_leads.datasets.model_registry import RegisteredModel
from codepro_leads.mlflow_metrics import as_mlflow_metrics, metric_value
from codepro_leads.pipelines.training.tuning import apply_tuned_params
from codepro_leads.scoring import evaluation, plots
from codepro_leads.scoring.calibration import PlattCalibrator
from codepro_leads.scoring.drift import DriftReference
from codepro_leads.scoring.encoder import LeadEncoder
from codepro_leads.scoring.pyfunc import LeadScoringModel
from codepro_leads.scoring.scorer import LeadScorer

logger = logging.getLogger(__name__)

LABEL = "app_complete_flag"


def split_leads(
    leads: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train / validation / test leads: out of time (latest leads last) or stratified random."""
    split = params["split"]
    if split["method"] == "out_of_time":
        ordered = leads.sort_values(["created_date", "lead_id"], kind="stable")
        n_test = round(len(ordered) * split["test_share"])
        rest, test = ordered.iloc[: len(ordered) - n_test], ordered.iloc[len(ordered) - n_test :]
        n_validation = round(len(rest) * split["validation_share"])
        train = rest.iloc[: len(rest) - n_validation]
        validation = rest.iloc[len(rest) - n_validation :]
    elif split["method"] == "stratified":
        rest, test = train_test_split(
            leads, test_size=split["test_share"], stratify=leads[LABEL], random_state=split["seed"]
        )
        train, validation = train_test_split(
            rest,
            test_size=split["validation_share"],
            stratify=rest[LABEL],
            random_state=split["seed"],
        )
    else:
        raise ValueError(f"split.method must be out_of_time or stratified, not {split['method']!r}")
    logger.info(
        "Split %d leads: %d train, %d validation, %d test",
        len(leads),
        len(train),
        len(validation),
        len(test),
    )
    return tuple(part.reset_index(drop=True) for part in (train, validation, test))


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


def train_classifier(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    encoder: LeadEncoder,
    params: dict[str, Any],
    tuned_params: dict[str, Any] | None = None,
) -> lgb.LGBMClassifier:
    """LightGBM on the encoded features (native categoricals), optional early stopping.

    ``tuned_params`` (model_selection's, when present and ``use_tuned_params``) replace the
    configured LightGBM hyperparameters."""
    use_tuned = tuned_params if params.get("use_tuned_params", True) else None
    lightgbm_params = apply_tuned_params(params["lightgbm"], use_tuned)
    if lightgbm_params != params["lightgbm"]:
        logger.info("LightGBM with model_selection's tuned parameters: %s", use_tuned["lightgbm"])
    model = lgb.LGBMClassifier(**lightgbm_params)
    callbacks = []
    if params.get("early_stopping_rounds"):
        callbacks.append(lgb.early_stopping(params["early_stopping_rounds"], verbose=False))
    model.fit(
        encoder.transform(train),
        train[LABEL],
        eval_X=encoder.transform(validation),
        eval_y=validation[LABEL],
        callbacks=callbacks,
    )
    return model


def fit_calibration(
    model: lgb.LGBMClassifier,
    encoder: LeadEncoder,
    validation: pd.DataFrame,
    params: dict[str, Any],
) -> PlattCalibrator:
    """Platt scaling fitted on validation leads, kept only if it helps on held-out leads.

    The first half of the validation leads fits a trial calibrator and the second half judges
    it by Brier score; if it helps, the final one is fitted on all validation leads.
    """
    if params["calibration"]["method"] == "none":
        return PlattCalibrator()
    raw = model.predict(encoder.transform(validation), raw_score=True)
    y_true = validation[LABEL].to_numpy()
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
    train: pd.DataFrame,
    validation: pd.DataFrame,
    params: dict[str, Any],
) -> LeadScorer:
    """Assemble the scorer: its junk threshold, chosen on validation leads (never test), and
    the training distributions that drift monitoring compares new leads with."""
    bands = dict(params["grade_bands"])
    uncut = LeadScorer(encoder, model, calibrator, threshold=0.0, grade_bands=bands)
    probability = uncut.predict_proba(validation)
    threshold = float(
        evaluation.choose_threshold(validation[LABEL], probability, params["min_completion_recall"])
    )
    junk_share = float((probability < threshold).mean())
    logger.info(
        "Junk threshold %.4f keeps %.0f%% of validation completions and drops %.1f%% of leads",
        threshold,
        100 * params["min_completion_recall"],
        100 * junk_share,
    )
    reference = DriftReference.fit(encoder, train, junk_share)
    return LeadScorer(encoder, model, calibrator, threshold, bands, reference)


def evaluate_scorer(
    scorer: LeadScorer, test: pd.DataFrame, params: dict[str, Any]
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Test-set metrics (as MLflow metrics), the per-lead test predictions, the grade table."""
    y_true = test[LABEL].to_numpy()
    raw = scorer.raw_score(test)
    probability = scorer.calibrator(raw)
    metrics = {
        # At the usual 0.5 cut, as CodePro's model comparisons (and the quality floor) use.
        **evaluation.classification_metrics(y_true, probability, params["classification_cut"]),
        # At the junk threshold: what sales gets when junk is dropped.
        **evaluation.business_metrics(y_true, probability, scorer.threshold),
        "brier_uncalibrated": float(brier_score_loss(y_true, PlattCalibrator()(raw))),
        "junk_threshold": scorer.threshold,
        "leads": len(test),
    }
    score = evaluation.score_from_probability(probability)
    grades = evaluation.grade_from_score(score, scorer.grade_bands)
    predictions = pd.DataFrame(
        {
            "lead_id": test["lead_id"].to_numpy(),
            LABEL: y_true,
            "raw_probability": PlattCalibrator()(raw),
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


def best_achievable_auc(test: pd.DataFrame, true_propensity: pd.DataFrame | None) -> dict[str, Any]:
    """AUC of the demo generator's true propensity on the test leads: the ceiling for any model.

    Only meaningful on demo data: when the propensity file is absent or does not describe these
    leads (same key and creation time), nothing is logged.
    """
    if true_propensity is None:
        return {}
    known = test[["lead_id", "created_date", LABEL]].merge(
        true_propensity, on=["lead_id", "created_date"], how="left"
    )
    if known["propensity"].isna().any():
        logger.info("True propensity does not match these leads (real data?): no ceiling AUC")
        return {}
    auc = float(roc_auc_score(known[LABEL], known["propensity"]))
    logger.info("Best achievable test AUC (true propensity): %.4f", auc)
    return as_mlflow_metrics({"best_achievable_auc": auc}, prefix="test_")


def fingerprint_data(leads: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the model was trained on: rows, label rate, date range and a content hash."""
    content = pd.util.hash_pandas_object(leads, index=False).to_numpy().tobytes()
    fingerprint = {
        "rows": len(leads),
        "label_rate": float(leads[LABEL].mean()),
        "first_created": str(leads["created_date"].min()),
        "last_created": str(leads["created_date"].max()),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    metrics = {"rows": fingerprint["rows"], "label_rate": fingerprint["label_rate"]}
    return fingerprint, as_mlflow_metrics(metrics, prefix="data_")


def package_model(
    scorer: LeadScorer,
    raw_example: pd.DataFrame,
    fingerprint: dict[str, Any],
    processing_params: dict[str, Any],
) -> tuple[LeadScoringModel, dict[str, Any]]:
    """The MLflow model (raw rows in, scores out) and its card: what it needs and decides."""
    # New leads come without the label: so does the example the signature is inferred from.
    example = raw_example.drop(columns=processing_params["label_column"], errors="ignore")
    model = LeadScoringModel(scorer, processing_params, example, fingerprint["sha256"])
    card = {
        "features": scorer.encoder.feature_names,
        "kept_levels": {col: list(v) for col, v in scorer.encoder.categorical_levels.items()},
        "threshold": scorer.threshold,
        "grade_bands": scorer.grade_bands,
        "calibration": {"slope": scorer.calibrator.slope, "intercept": scorer.calibrator.intercept},
        "training_data": fingerprint,
    }
    return model, card


def compare_with_champion(
    champion: RegisteredModel | None, candidate: LeadScorer, test: pd.DataFrame
) -> dict[str, Any]:
    """Test AUC of the current champion and of the candidate on the same test leads."""
    y_true = test[LABEL].to_numpy()
    comparison = {
        "candidate_test_auc": float(roc_auc_score(y_true, candidate.predict_proba(test))),
        "champion_version": None,
        "champion_test_auc": None,
        "champion_data_sha256": None,
    }
    if champion is not None:
        champion_scorer = champion.model.scorer
        comparison.update(
            champion_version=champion.version,
            champion_test_auc=float(roc_auc_score(y_true, champion_scorer.predict_proba(test))),
            champion_data_sha256=champion.model.data_sha256,
        )
    return comparison


def decide_promotion(
    test_metrics: dict[str, Any],
    comparison: dict[str, Any],
    model_card: dict[str, Any],
    params: dict[str, Any],
) -> dict[str, Any]:
    """Champion only if the candidate passes the quality floor and is not worse than the
    champion (same test leads) by more than the tolerance; otherwise challenger, with why.

    Retraining on the very data the champion was trained on must be strictly better: an
    identical rerun is no reason to move the alias.
    """
    floor = params["quality_floor"]
    measured = {name: metric_value(test_metrics[f"test_{name}"]) for name in floor}
    failed = [
        f"{name} {measured[name]:.4f} < {minimum}"
        for name, minimum in floor.items()
        if measured[name] < minimum
    ]
    new_auc, old_auc = comparison["candidate_test_auc"], comparison["champion_test_auc"]
    versus = f"test AUC {new_auc:.4f}"
    if old_auc is not None:
        versus += f" vs champion v{comparison['champion_version']} {old_auc:.4f}"
    same_data = comparison["champion_data_sha256"] == model_card["training_data"]["sha256"]
    tolerance = 0.0 if same_data else params["registry"]["tolerance"]
    if failed:
        alias, reason = "challenger", "below the quality floor: " + ", ".join(failed)
    elif old_auc is None:
        alias, reason = "champion", f"first model to pass the quality floor ({versus})"
    elif (new_auc > old_auc) if same_data else (new_auc >= old_auc - tolerance):
        alias, reason = "champion", f"{versus}, tolerance {tolerance}"
    else:
        note = "same training data, not better" if same_data else f"worse by more than {tolerance}"
        alias, reason = "challenger", f"{versus}: {note}"
    return {"alias": alias, "reason": reason, **comparison}


def plot_evaluation(
    predictions: pd.DataFrame, grade_table: pd.DataFrame, scorer: LeadScorer
) -> tuple[Figure, Figure, Figure, Figure, Figure, Figure]:
    """ROC, precision-recall, calibration, feature importance, score distribution by class,
    completion rate by grade (all on the test leads)."""
    y_true = predictions[LABEL].to_numpy()
    probability = predictions["probability"].to_numpy()
    importance = pd.Series(
        scorer.model.booster_.feature_importance(importance_type="gain"),
        index=scorer.encoder.feature_names,
    )
    return (
        plots.roc_figure(y_true, probability),
        plots.precision_recall_figure(y_true, probability),
        plots.calibration_figure(
            y_true,
            {
                "before calibration": predictions["raw_probability"].to_numpy(),
                "after calibration": probability,
            },
        ),
        plots.feature_importance_figure(importance),
        plots.score_distribution_figure(y_true, predictions["score"].to_numpy()),
        plots.grade_completion_figure(grade_table),
    )
