"""Nodes that score new leads with the champion model (and the challenger, in the shadow),
store the scores and watch the inputs for drift, a batch of rows at a time.

Each step is a pure function of one batch (``process_batch``, ``score_new_leads``,
``store_rows``, ``export_for_crm``); the nodes map them lazily over the stream of batches, so
a node returns at once and the work happens while the run's outputs are saved. What the run
reports on the whole input (row counts, reject reasons, grade and junk shares, PSI) is summed
from per-batch counts in ``RunTotals`` as the batches go by, and equals the whole-file
computation: counts add up, shares are only taken at the end.

Order of the writes: the batches are checked as they go; after the last one the rows must
add up (``account_for_rows``) or the run fails and nothing is stored. The score table is
committed first, the run's files appear after it, and the report and monitoring row are made
from the totals, which Kedro hands on only once the batches are saved.
"""

from __future__ import annotations

import json
import logging
import math
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.figure import Figure

from codepro_leads.datasets.lead_batches_dataset import LeadBatches
from codepro_leads.datasets.model_registry import RegisteredModel
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
from codepro_leads.features.validation import PARSE_ERROR_COLUMN, _show, split_key
from codepro_leads.mlflow_metrics import as_mlflow_metrics
from codepro_leads.scoring import plots
from codepro_leads.scoring.drift import DriftCounts

logger = logging.getLogger(__name__)

INSUFFICIENT_DATA = "insufficient_data"
CHAMPION, SHADOW = "champion", "shadow"
LEAD_COLUMNS = ["lead_id", "created_date"]  # what a scorer passes through from the leads
FACTOR_TEXTS = ("up_factors", "down_factors", "raises_score", "lowers_score")


# ---- reading and processing -------------------------------------------------------------


def read_in_batches(
    new_leads: LeadBatches, processing: dict[str, Any], params: dict[str, Any]
) -> Iterator[pd.DataFrame]:
    """The new-leads file as raw frames of ``batch_size`` rows, read lazily; the columns
    whose kind the schema fixes are read as text or numbers from the first row on."""
    return new_leads.batches(
        params["batch_size"],
        text_columns=[processing["city_column"], *processing["categorical_columns"]],
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
    """Every lead key of the batches so far: numbers in a sorted array (8 bytes a key), any
    other key in a set."""

    def __init__(self) -> None:
        self._numbers = np.empty(0)
        self._others: set[Any] = set()

    @staticmethod
    def _split(keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Which keys are numbers exactly representable as floats, and those numbers."""
        if pd.api.types.is_float_dtype(keys) or (
            pd.api.types.is_integer_dtype(keys) and keys.abs().max() < 2**53
        ):
            return np.ones(len(keys), dtype=bool), keys.to_numpy(dtype=float)
        return np.zeros(len(keys), dtype=bool), np.empty(0)

    def contains(self, keys: pd.Series) -> np.ndarray:
        numeric, numbers = self._split(keys)
        if not numeric.all():
            return keys.map(lambda key: key in self._others).to_numpy(dtype=bool)
        if not len(self._numbers):
            return np.zeros(len(keys), dtype=bool)
        position = np.searchsorted(self._numbers, numbers).clip(max=len(self._numbers) - 1)
        return self._numbers[position] == numbers

    def add(self, keys: pd.Series) -> None:
        keys = keys.dropna()
        numeric, numbers = self._split(keys)
        if len(keys) and numeric.all():
            # Two sorted runs: a stable sort merges them in linear time.
            self._numbers = np.sort(
                np.concatenate([self._numbers, np.sort(numbers)]), kind="stable"
            )
        else:
            self._others.update(keys.tolist())


def process_batches(
    raw_batches: Iterable[pd.DataFrame], processing: dict[str, Any], missing_key: str
) -> Iterator[ProcessedBatch]:
    """``process_batch`` over the raw batches, lazily, with the keys of the earlier batches
    (a key repeating an earlier batch's is rejected, as within a batch: keep-first over the
    whole file)."""

    # An inner generator: Kedro would save each batch of a generator-function node on its own.
    def processed() -> Iterator[ProcessedBatch]:
        earlier = KeySet()
        for raw in raw_batches:
            batch, keys = process_batch(raw, processing, missing_key, earlier)
            earlier.add(keys)
            yield batch

    return processed()


def process_batch(
    raw: pd.DataFrame, processing: dict[str, Any], missing_key: str, earlier: KeySet
) -> tuple[ProcessedBatch, pd.Series]:
    """The data_processing steps on one raw batch (without its label, as the served model
    sees new leads), and the batch's raw keys.

    Returns:
        The model input, the rejected rows and the counts of the batch; its raw keys.
    """
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
    """Reject the rows whose key an earlier batch had, with the reason (and in the place)
    validation gives a key repeated within a batch: first of the row's reasons."""
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
    problem = f"{processing['key_column']}: repeats an earlier row"
    reason = key[repeat].map(lambda v: f"{problem} ({_show(v)})")
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


# ---- scoring -----------------------------------------------------------------------------


def score_new_leads(
    leads: pd.DataFrame,
    model: RegisteredModel,
    params: dict[str, Any],
    scored_at: pd.Timestamp,
    known: KnownScores | None = None,
) -> pd.DataFrame:
    """Score every lead of a batch (explained in chunks: bounded memory), stamped with the
    model version and the run's scoring time; leads whose features an earlier batch had take
    its scores from ``known``. How many factors explain a score is the model's."""
    scorer = model.model.scorer
    if known is None:
        scored = scorer.score(leads, chunk_size=params["chunk_size"])
    else:
        scored = known.score(scorer, leads, params["chunk_size"])
    scored["model_version"] = model.version
    scored["scored_at"] = scored_at
    return scored


class KnownScores:
    """The scores of the distinct feature rows of the batches so far, so each is explained
    once per run, as when the whole file is scored at once (1M leads share about 100k feature
    rows, and a batch of 200k about half of them). A score depends on the encoded features
    alone (the model sees nothing else), and rows are matched on their exact encoded values.
    The rows' factor texts (``factor_texts``) are made once with their scores.
    At most ``max_rows`` rows are kept: memory stays bounded whatever the file."""

    def __init__(self, encoder: Any, max_rows: int) -> None:
        self._encoder = encoder
        self._features = list(encoder.feature_names)
        self._max_rows = max_rows
        self._known: pd.DataFrame | None = None

    def score(self, scorer: Any, leads: pd.DataFrame, chunk_size: int) -> pd.DataFrame:
        """``scorer.score(leads)``, explaining only the feature rows not seen before."""
        if leads.empty:
            return scorer.score(leads, chunk_size=chunk_size)
        features = self._encoder.transform(leads)
        group = (
            features.groupby(self._features, sort=False, dropna=False, observed=True)
            .ngroup()
            .to_numpy()
        )
        first = np.unique(group, return_index=True)[1]  # the batch's distinct rows, by group
        distinct = features.iloc[first].reset_index(drop=True)
        found = self._look_up(distinct)
        missing = np.isnan(found)
        parts, order = [], np.empty(len(distinct), dtype=int)
        if not missing.all():
            parts.append(self._known.iloc[found[~missing].astype(int)])
            order[~missing] = np.arange(len(parts[0]))
        if missing.any():
            new_rows = leads.iloc[first[missing]].reset_index(drop=True)
            results = scorer.score(new_rows, chunk_size=chunk_size)
            rows = pd.concat(
                [distinct[missing].reset_index(drop=True), results.drop(columns=LEAD_COLUMNS)],
                axis=1,
            )
            rows = pd.concat([rows, factor_texts(rows)], axis=1)  # written once per row too
            self._remember(rows)
            order[missing] = len(distinct) - len(rows) + np.arange(len(rows))
            parts.append(rows)
        per_distinct = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        scored = per_distinct.drop(columns=self._features).iloc[order[group]]
        scored = scored.reset_index(drop=True)
        scored.insert(0, "lead_id", leads["lead_id"].to_numpy())
        scored.insert(1, "created_date", leads["created_date"].to_numpy())
        return scored

    def _look_up(self, distinct: pd.DataFrame) -> np.ndarray:
        """Row number in the known scores of each distinct row (NaN when unknown)."""
        if self._known is None:
            return np.full(len(distinct), np.nan)
        known = self._known[self._features].assign(_row=np.arange(len(self._known)))
        matched = distinct.merge(known, on=self._features, how="left", sort=False)
        return matched["_row"].to_numpy(dtype=float)

    def _remember(self, rows: pd.DataFrame) -> None:
        if self._known is None:
            self._known = rows
        elif len(self._known) + len(rows) <= self._max_rows:
            self._known = pd.concat([self._known, rows], ignore_index=True)


def _now() -> pd.Timestamp:
    """The current UTC time to the second, without a time zone (as stored in the tables)."""
    return pd.Timestamp.now(tz="UTC").floor("s").tz_localize(None)


@dataclass
class RunTotals:
    """What the run reports on its whole input, summed batch by batch as they are saved."""

    scored_at: pd.Timestamp
    counts: dict[str, Any] = field(default_factory=dict)
    rows_scored: int = 0
    rejected_rows: int = 0
    shadow_version: str | None = None
    shadow_rows: int = 0
    probability_sums: list[float] = field(default_factory=list)
    junk: int = 0
    grades: Counter = field(default_factory=Counter)
    drift: DriftCounts = field(default_factory=DriftCounts)
    complete: bool = False  # every batch seen and the rows added up

    def add(self, batch: ProcessedBatch, scored: pd.DataFrame, drift: DriftCounts) -> None:
        self.counts = _added_counts(self.counts, batch.counts)
        self.rejected_rows += len(batch.rejected)
        self.rows_scored += len(scored)
        self.probability_sums.append(math.fsum(scored["probability"]))
        self.junk += int(scored["is_junk"].sum())
        self.grades.update(scored["grade"].value_counts().to_dict())
        self.drift = self.drift + drift


def _added_counts(total: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    """Intake counts of the batches so far plus one more batch's."""
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
    batches: Iterable[ProcessedBatch],
    champion: RegisteredModel,
    challenger: RegisteredModel | None,
    params: dict[str, Any],
) -> tuple[Iterator[dict[str, pd.DataFrame]], RunTotals]:
    """Score each batch with the champion, and with the challenger in the shadow when there
    is one; lazily. Returns the run's outputs batch by batch (score table rows of both
    models, the champion's scores file, CRM export and rejected rows) and the run's totals,
    complete once the outputs are consumed: after the last batch the rows must add up, else
    the iteration fails before the store commits."""
    totals = RunTotals(scored_at=_now())
    if challenger is not None and challenger.version == champion.version:
        challenger = None  # one model holding both aliases: its scores are the champion's
    if challenger is not None:
        totals.shadow_version = challenger.version
    scorer = champion.model.scorer
    known = {
        model.version: KnownScores(model.model.scorer.encoder, params["known_rows"])
        for model in (champion, challenger)
        if model is not None
    }

    def outputs() -> Iterator[dict[str, pd.DataFrame]]:
        for batch in batches:
            scored = score_new_leads(
                batch.leads, champion, params, totals.scored_at, known[champion.version]
            )
            table = store_rows(scored, CHAMPION)
            if challenger is not None:
                shadow = score_new_leads(
                    batch.leads, challenger, params, totals.scored_at, known[challenger.version]
                )
                table = pd.concat([table, store_rows(shadow, SHADOW)], ignore_index=True)
                totals.shadow_rows += len(shadow)
            totals.add(batch, scored, scorer.reference.counts(scorer.encoder, batch.leads))
            yield {
                "scored_leads_table": table,
                "scored_leads": scored.drop(columns=list(FACTOR_TEXTS), errors="ignore"),
                "scored_leads_crm": export_for_crm(scored),
                "rejected_new_leads": batch.rejected,
            }
        account_for_rows(totals)
        totals.complete = True
        logger.info(
            "Scored %d leads with %s v%s%s",
            totals.rows_scored,
            champion.name,
            champion.version,
            f" (and v{totals.shadow_version} in the shadow)" if totals.shadow_version else "",
        )

    return outputs(), totals


def account_for_rows(totals: RunTotals) -> None:
    """Check rows read = rows scored + rows rejected + duplicates dropped over the whole run
    (and that every rejected row was counted); fail the run if not."""
    counts = totals.counts
    if totals.rejected_rows != counts["rows_rejected"]:
        raise RuntimeError(
            f"Row accounting failed: {totals.rejected_rows} rejected rows, but validation "
            f"counted {counts['rows_rejected']}"
        )
    accounted = totals.rows_scored + counts["rows_rejected"] + counts["duplicates_dropped"]
    if counts["rows_read"] != accounted:
        raise RuntimeError(
            f"Row accounting failed: read {counts['rows_read']} new leads but scored "
            f"{totals.rows_scored}, rejected {counts['rows_rejected']} and dropped "
            f"{counts['duplicates_dropped']} as duplicates"
        )
    logger.info(
        "New leads: %d read = %d scored + %d rejected + %d duplicates dropped",
        counts["rows_read"],
        totals.rows_scored,
        counts["rows_rejected"],
        counts["duplicates_dropped"],
    )


def store_rows(scored: pd.DataFrame, role: str) -> pd.DataFrame:
    """Scores in the score table's shape, marked ``champion`` (what the CRM gets) or
    ``shadow`` (a challenger's, never exported).

    The table's columns do not depend on the number of factors: each direction is one JSON
    list of ``{"factor": "feature=value", "effect": log-odds}``, largest effect first.
    """
    texts = _texts_of(scored)
    return pd.DataFrame(
        {
            "lead_id": scored["lead_id"],
            "model_version": scored["model_version"],
            "role": role,
            "created_date": scored["created_date"],
            "probability": scored["probability"],
            "score": scored["score"],
            "grade": scored["grade"],
            "is_junk": scored["is_junk"],
            "up_factors": texts["up_factors"],
            "down_factors": texts["down_factors"],
            "scored_at": scored["scored_at"],
        }
    )


def factor_texts(scored: pd.DataFrame) -> pd.DataFrame:
    """The factors of each row as text: the score table's JSON lists (``up_factors``,
    ``down_factors``) and the CRM's reasons (``raises_score``, ``lowers_score``)."""
    return pd.DataFrame(
        {
            "up_factors": _factors_json(scored, "up"),
            "down_factors": _factors_json(scored, "down"),
            "raises_score": _joined(scored[_factor_columns(scored, "up")]),
            "lowers_score": _joined(scored[_factor_columns(scored, "down")]),
        },
        index=scored.index,
    )


def _texts_of(scored: pd.DataFrame) -> pd.DataFrame:
    """The rows' factor texts: as scoring left them (``KnownScores`` makes them once per
    distinct feature row), else made here."""
    if set(FACTOR_TEXTS) <= set(scored.columns):
        return scored[list(FACTOR_TEXTS)]
    return factor_texts(scored)


def _factor_columns(scored: pd.DataFrame, direction: str) -> list[str]:
    """``<direction>_factor_1``, ``_2``, ... in rank order (labels, not the effects)."""
    pattern = re.compile(rf"{direction}_factor_(\d+)")
    ranked = [(int(m[1]), m[0]) for col in scored.columns if (m := pattern.fullmatch(col))]
    return [col for _, col in sorted(ranked)]


def _factors_json(scored: pd.DataFrame, direction: str) -> pd.Series:
    """Each row's factors as a JSON list, built column by column in Arrow (not one
    ``json.dumps`` per lead). Effects are written in their shortest exact form."""
    items = []
    for label in _factor_columns(scored, direction):
        names = pa.array(_json_strings(scored[label]), pa.string(), from_pandas=True)
        effects = pa.array(scored[f"{label}_effect"].to_numpy(), from_pandas=True)
        items.append(
            pc.binary_join_element_wise(
                '{"factor": ', names, ', "effect": ', pc.cast(effects, pa.string()), "}", ""
            )
        )
    joined = pc.fill_null(_joined_texts(items, ", ", len(scored)), "")
    return _arrow_backed(pc.binary_join_element_wise("[", joined, "]", ""), scored.index)


def _arrow_backed(texts: pa.Array, index: pd.Index) -> pd.Series:
    """Text kept in Arrow (``string[pyarrow]``): the store and the files take it without a
    Python string per value."""
    return pd.Series(pd.arrays.ArrowStringArray(texts), index=index)


def _json_strings(labels: pd.Series) -> pd.Series:
    """Each label as a JSON string literal (quoted, escaped); missing stays missing. Labels
    repeat (feature=value): each distinct one is encoded once."""
    distinct = labels.dropna().unique()
    return labels.map(dict(zip(distinct, map(json.dumps, distinct), strict=True)))


def _joined_texts(columns: list[pa.Array], separator: str, length: int) -> pa.Array:
    """Row by row, the non-null texts of ``columns`` joined with ``separator``; null where all
    are null. (Arrow 25's ``null_handling="skip"`` drops trailing all-null rows, so the join is
    built pairwise.)"""
    if not columns:
        return pa.nulls(length, pa.string())
    joined = columns[0]
    for column in columns[1:]:
        both = pc.binary_join_element_wise(joined, column, separator)
        joined = pc.if_else(
            pc.is_null(joined), column, pc.if_else(pc.is_null(column), joined, both)
        )
    return joined


def export_for_crm(scored: pd.DataFrame) -> pd.DataFrame:
    """The columns a CRM import needs (champion scores only), with the reasons as one
    readable text field."""
    texts = _texts_of(scored)
    return pd.DataFrame(
        {
            "lead_id": scored["lead_id"],
            "lead_score": scored["score"],
            "lead_grade": scored["grade"],
            "junk": scored["is_junk"].map({True: "yes", False: "no"}),
            "completion_probability": scored["probability"].round(4),
            "raises_score": texts["raises_score"],
            "lowers_score": texts["lowers_score"],
            "model_version": scored["model_version"],
            "scored_at": scored["scored_at"],
        }
    )


def _joined(factors: pd.DataFrame) -> pd.Series:
    """Non-empty factor labels of each row joined with '; '."""
    labels = [pa.array(factors[col], pa.string(), from_pandas=True) for col in factors.columns]
    return _arrow_backed(pc.fill_null(_joined_texts(labels, "; ", len(factors)), ""), factors.index)


# ---- after the store: report and monitoring ----------------------------------------------


def _complete(totals: RunTotals) -> RunTotals:
    if not totals.complete:
        raise RuntimeError("the run's totals were read before all of its batches were saved")
    return totals


def report_run(totals: RunTotals) -> dict[str, Any]:
    """The run's report: the processing counts, rows scored and stored, shadow rows."""
    totals = _complete(totals)
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
    """This run's monitoring row of the champion's scores (grade and junk shares, mean
    probability, PSI per feature against the model's training leads, unseen levels, status)
    and the same as MLflow metrics; made only once the scores are stored."""
    totals = _complete(totals)
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
    metrics = {
        "leads": leads,
        "mean_probability": row["mean_probability"],
        "junk_share": junk_share,
        "max_psi": row["max_psi"],
        **{f"psi_{k}": v for k, v in psi.items()},
    }
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
    """Max PSI (with this project's warn and alert limits) and junk share of every monitored
    run so far."""
    limits = params["monitoring"]
    return plots.drift_history_figure(history, limits["psi_warn"], limits["psi_alert"])
