"""Nodes that score new leads with the champion (and the challenger, in the shadow) a batch at
a time, and watch the inputs for drift from the run's totals (``RunTotals``) once all is stored.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from codepro_leads.datasets.lead_batches_dataset import LeadBatches
from codepro_leads.errors import ConfigError
from codepro_leads.features.processing import (
    add_city_tier,
    drop_duplicate_leads,
    fill_missing_counts,
    interaction_columns,
    select_model_input,
    sum_interactions,
    validate_raw_leads,
    without_label,
)
from codepro_leads.features.validation import (
    PARSE_ERROR_COLUMN,
    Reasons,
    key_columns,
    split_key,
)
from codepro_leads.mlflow_metrics import as_mlflow_metrics
from codepro_leads.pipelines.catalog_types import Figure, RegisteredModel
from codepro_leads.pipelines.data_processing.nodes import enough_rows, rows_accounted
from codepro_leads.scoring.drift import DriftCounts
from codepro_leads.scoring.factor_texts import FACTOR_TEXTS
from codepro_leads.scoring.scorer import ExplainedRows

logger = logging.getLogger(__name__)

INSUFFICIENT_DATA = "insufficient_data"
CHAMPION, SHADOW = "champion", "shadow"
# The score table's columns (factors are JSON lists).
STORE_COLUMNS = [
    *("lead_id", "model_version", "role", "created_date"),
    *("probability", "score", "grade", "is_junk", "up_factors", "down_factors", "scored_at"),
]


def read_in_batches(
    new_leads: LeadBatches, processing: dict[str, Any], params: dict[str, Any]
) -> Iterator[pd.DataFrame]:
    """The new-leads file as lazily read raw frames of ``batch_size`` rows, known columns read
    as text or numbers."""
    for name in ("batch_size", "chunk_size"):
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"inference.{name} must be a whole number of rows, not {value!r}")
    return new_leads.batches(
        params["batch_size"],
        text_columns=[
            *key_columns(processing["key_column"]),
            processing["city_column"],
            *processing["categorical_columns"],
        ],
        number_columns=[
            *processing["count_columns"],
            *processing["flag_columns"],
            *interaction_columns(processing),
        ],
    )


class ProcessedBatch(NamedTuple):
    leads: pd.DataFrame  # model input
    rejected: pd.DataFrame  # raw rows with a ``reason``
    counts: dict[str, Any]  # intake and duplicate counts of the batch


class KeySet:
    """Every lead key so far as a sorted array of 64-bit hashes: 8 bytes a key (a set of 5M
    strings takes ~500 MB); a collision is under 1e-6 likely for 5M keys."""

    def __init__(self) -> None:
        self._hashes = np.empty(0, dtype=np.uint64)

    @staticmethod
    def _hashed(keys: pd.Series) -> np.ndarray:
        return pd.util.hash_pandas_object(keys, index=False).to_numpy()

    def contains(self, keys: pd.Series) -> np.ndarray:
        if not len(self._hashes):
            return np.zeros(len(keys), dtype=bool)
        hashes = self._hashed(keys)
        position = np.searchsorted(self._hashes, hashes).clip(max=len(self._hashes) - 1)
        return self._hashes[position] == hashes

    def add(self, keys: pd.Series) -> None:
        # One new array (concatenating, then sorting, would hold three at once).
        hashes = np.sort(self._hashed(keys.dropna()))
        self._hashes = np.insert(self._hashes, np.searchsorted(self._hashes, hashes), hashes)


def process_batch(
    raw: pd.DataFrame, processing: dict[str, Any], missing_key: str, earlier: KeySet
) -> tuple[ProcessedBatch, pd.Series]:
    """data_processing's steps on one raw batch without its label; and the batch's raw keys."""
    raw = without_label(raw, processing)
    valid, rejected, intake, _ = validate_raw_leads(raw, processing, missing_key)
    valid, rejected, intake, keys = _reject_earlier_keys(
        raw, valid, rejected, intake, processing, missing_key, earlier
    )
    unique, duplicates = drop_duplicate_leads(valid, processing)
    leads = fill_missing_counts(
        add_city_tier(sum_interactions(unique, processing), processing), processing
    )
    counts = {**intake, **duplicates}
    return ProcessedBatch(select_model_input(leads, processing), rejected, counts), keys


def _reject_earlier_keys(
    raw: pd.DataFrame,
    valid: pd.DataFrame,
    rejected: pd.DataFrame,
    intake: dict[str, Any],
    processing: dict[str, Any],
    missing_key: str,
    earlier: KeySet,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], pd.Series]:
    """Reject the rows whose key an earlier batch had, worded as validation words a repeat."""
    raw = raw.set_axis([str(col).strip() for col in raw.columns], axis=1, copy=False)
    key, key_col = split_key(raw, processing["key_column"], missing_key)
    parsed = (
        raw[PARSE_ERROR_COLUMN].isna().to_numpy()
        if PARSE_ERROR_COLUMN in raw.columns
        else np.ones(len(raw), dtype=bool)
    )
    repeat = key.notna().to_numpy() & ~key.duplicated().to_numpy() & parsed
    if repeat.any():
        repeat &= earlier.contains(key)
    if not repeat.any():
        return valid, rejected, intake, key
    worded = Reasons(raw.index, skip=~parsed)  # the reason as validation words it
    worded.add(repeat, processing["key_column"], "repeats an earlier row", key)
    (problem,) = worded.counts
    reason = worded.text[repeat]
    already = rejected.index.intersection(reason.index)
    rejected = rejected.copy()
    rejected.loc[already, "reason"] = reason[already] + "; " + rejected.loc[already, "reason"]
    was_valid = ~raw.index.isin(rejected.index)
    newly = repeat & was_valid
    new_rows = pd.concat(
        [
            key[newly].to_frame(),
            reason[newly[repeat]].rename("reason"),
            raw.loc[newly].drop(columns=[key_col, PARSE_ERROR_COLUMN], errors="ignore"),
        ],
        axis=1,
    )
    rejected = pd.concat([rejected, new_rows]).sort_index()
    keep = ~newly[was_valid]  # valid rows are the raw rows not rejected, in order
    valid = valid.loc[keep].reset_index(drop=True)
    reasons = Counter(intake["reject_reasons"])
    reasons[problem] += int(repeat.sum())
    intake = {
        **intake,
        "rows_rejected": intake["rows_rejected"] + int(newly.sum()),
        "reject_reasons": dict(sorted(reasons.items())),
    }
    return valid, rejected, intake, key


def score_new_leads(
    leads: pd.DataFrame,
    model: RegisteredModel,
    params: dict[str, Any],
    scored_at: pd.Timestamp,
    explained: ExplainedRows | None = None,
) -> pd.DataFrame:
    """A batch's scores with factor texts, model version and scoring time."""
    scored = model.model.scorer.score(leads, params["chunk_size"], explained, texts=True)
    return scored.assign(model_version=model.version, scored_at=scored_at)


@dataclass(frozen=True)
class RunTotals:
    """What the run reports on its whole input, summed batch by batch."""

    scored_at: pd.Timestamp
    shadow_version: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    rows_scored: int = 0
    rejected_rows: int = 0
    shadow_rows: int = 0
    probability_sums: tuple[float, ...] = ()
    junk: int = 0
    grades: Counter = field(default_factory=Counter)
    drift: DriftCounts = field(default_factory=DriftCounts)

    def add(
        self, batch: ProcessedBatch, scored: pd.DataFrame, shadow_rows: int, drift: DriftCounts
    ) -> RunTotals:
        return replace(
            self,
            counts=_added_counts(self.counts, batch.counts),
            rows_scored=self.rows_scored + len(scored),
            rejected_rows=self.rejected_rows + len(batch.rejected),
            shadow_rows=self.shadow_rows + shadow_rows,
            probability_sums=(*self.probability_sums, math.fsum(scored["probability"])),
            junk=self.junk + int(scored["is_junk"].sum()),
            grades=self.grades + Counter(scored["grade"].value_counts().to_dict()),
            drift=self.drift + drift,
        )


def _added_counts(total: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    if not total:
        return dict(batch)
    summed = {
        key: total[key] + batch[key] for key in ("rows_read", "rows_rejected", "duplicates_dropped")
    }
    for key in ("reject_reasons", "undecodable_values"):
        counter = Counter(total[key])
        counter.update(batch[key])
        summed[key] = dict(sorted(counter.items()))
    return {**total, **summed}


def score_batches(
    new_leads: LeadBatches,
    champion: RegisteredModel,
    challenger: RegisteredModel | None,
    processing: dict[str, Any],
    params: dict[str, Any],
) -> Iterator[dict[str, Any]]:
    """The run's outputs, lazily, batch by batch: processed (keep-first over the whole file),
    scored by the champion (and the challenger in the shadow), with the totals so far as
    ``summary``. Rows that do not add up fail the iteration before the store commits."""
    if challenger is not None and challenger.version == champion.version:
        challenger = None  # one model holding both aliases: its scores are the champion's
    raw_batches = read_in_batches(new_leads, processing, params)
    now = pd.Timestamp.now(tz="UTC").floor("s").tz_localize(None)  # as the tables store it
    totals = RunTotals(scored_at=now, shadow_version=challenger and challenger.version)
    scorer = champion.model.scorer

    # An inner generator: Kedro would save each batch of a generator-function node on its own.
    def outputs(totals: RunTotals) -> Iterator[dict[str, Any]]:
        earlier = KeySet()
        by_champion, by_challenger = (ExplainedRows(params["explained_rows"]) for _ in range(2))
        for raw in raw_batches:
            batch, keys = process_batch(raw, processing, params["missing_key"], earlier)
            earlier.add(keys)
            scored = score_new_leads(batch.leads, champion, params, totals.scored_at, by_champion)
            table = store_rows(scored, CHAMPION)
            shadow_rows = 0
            if challenger is not None:
                shadow = score_new_leads(
                    batch.leads, challenger, params, totals.scored_at, by_challenger
                )
                table = pd.concat([table, store_rows(shadow, SHADOW)], ignore_index=True)
                shadow_rows = len(shadow)
            drift = scorer.reference.counts(scorer.encoder, batch.leads)
            totals = totals.add(batch, scored, shadow_rows, drift)
            yield {
                "scored_leads_table": table,
                "scored_leads": scored.drop(columns=list(FACTOR_TEXTS)),
                "scored_leads_crm": export_for_crm(scored),
                "rejected_new_leads": batch.rejected,
                "summary": totals,
            }
        account_for_rows(totals)
        # A run that scored nothing fails: no green task, no outputs.
        enough_rows(new_leads.name, totals.counts, totals.rows_scored, 1, "new leads")
        logger.info(
            "Scored %d leads with %s v%s%s",
            totals.rows_scored,
            champion.name,
            champion.version,
            f" (and v{totals.shadow_version} in the shadow)" if totals.shadow_version else "",
        )

    return outputs(totals)


def account_for_rows(totals: RunTotals) -> None:
    """Fail unless rows read = scored + rejected (all counted) + duplicates dropped."""
    scored = {"scored": totals.rows_scored}
    logger.info("%s", rows_accounted(totals.counts, totals.rejected_rows, scored, "new leads"))


def store_rows(scored: pd.DataFrame, role: str) -> pd.DataFrame:
    """Scores in the score table's shape, marked ``champion`` or ``shadow`` (never exported)."""
    return scored.assign(role=role)[STORE_COLUMNS]


def export_for_crm(scored: pd.DataFrame) -> pd.DataFrame:
    """The champion's scores as a CRM imports them (the model version as a number)."""
    text = pd.StringDtype("pyarrow")  # the CSV's formula check then runs in Arrow, not per value
    return pd.DataFrame(
        {
            "lead_id": scored["lead_id"].astype(text),
            "lead_score": scored["score"],
            "lead_grade": scored["grade"].astype(text),
            "junk": scored["is_junk"].map({True: "yes", False: "no"}).astype(text),
            "completion_probability": scored["probability"].round(4),
            "raises_score": scored["raises_score"],
            "lowers_score": scored["lowers_score"],
            "model_version": scored["model_version"].astype("int64"),
            "scored_at": scored["scored_at"],
        }
    )


def report_run(totals: RunTotals) -> dict[str, Any]:
    """The processing counts, rows scored and stored, shadow rows."""
    return {
        **totals.counts,
        "rows_out": totals.rows_scored,
        "rows_scored": totals.rows_scored,
        "rows_stored": totals.rows_scored,
        "shadow_model_version": totals.shadow_version,
        "shadow_rows_stored": totals.shadow_rows,
    }


def monitor_scores(
    totals: RunTotals, champion: RegisteredModel, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The run's monitoring row (score shares, PSI per feature, unseen levels, status) and
    its metrics."""
    scorer = champion.model.scorer
    reference = scorer.reference
    leads = totals.rows_scored
    psi = reference.psi_of(totals.drift)
    unseen = reference.unseen_share_of(totals.drift)
    junk_share = totals.junk / leads if leads else float("nan")
    junk_shift = junk_share - reference.junk_share
    if leads < params["monitoring"]["min_leads"]:
        status = INSUFFICIENT_DATA  # PSI of a handful of leads is noise, not drift
    else:
        status = drift_status(max(psi.values()), abs(junk_shift), params)
    row = {
        "run_id": uuid.uuid4().hex,
        "scored_at": totals.scored_at,
        "model_version": champion.version,
        "leads": leads,
        "mean_probability": math.fsum(totals.probability_sums) / leads if leads else np.nan,
        "junk_share": junk_share,
        "junk_share_training": reference.junk_share,
        "grade_shares": json.dumps(
            {g: totals.grades.get(g, 0) / leads if leads else 0.0 for g in scorer.grade_bands}
        ),
        "max_psi": max(psi.values()),
        "max_psi_feature": max(psi, key=psi.get),
        "psi": json.dumps({k: round(v, 5) for k, v in psi.items()}),
        "unseen_level_share": json.dumps({k: round(v, 5) for k, v in unseen.items()}),
        "status": status,
    }
    log = logger.info if status == "ok" else logger.warning
    log(
        "Drift status %s on %d leads: max PSI %.3f (%s), junk share %.3f vs %.3f in training",
        status,
        leads,
        row["max_psi"],
        row["max_psi_feature"],
        junk_share,
        reference.junk_share,
    )
    metrics = {k: row[k] for k in ("leads", "mean_probability", "junk_share", "max_psi")}
    metrics |= {f"psi_{k}": v for k, v in psi.items()}
    return pd.DataFrame([row]), as_mlflow_metrics(metrics, prefix="monitoring_")


def drift_status(max_psi: float, junk_shift: float, params: dict[str, Any]) -> str:
    """ok / warn / alert from the largest PSI and the absolute junk-share shift."""
    limits = params["monitoring"]
    if max_psi > limits["psi_alert"] or junk_shift > limits["junk_shift_alert"]:
        return "alert"
    if max_psi > limits["psi_warn"] or junk_shift > limits["junk_shift_warn"]:
        return "warn"
    return "ok"


def plot_drift_history(history: pd.DataFrame, params: dict[str, Any]) -> Figure:
    """Max PSI (with the warn and alert limits) and junk share of every monitored run."""
    from codepro_leads.scoring import plots  # matplotlib only for the run that draws

    limits = params["monitoring"]
    return plots.drift_history_figure(history, limits["psi_warn"], limits["psi_alert"])
