"""Synthetic CodePro leads shaped like the real export (every fact from ``params:demo_data``).

The label is drawn from a known propensity of the observable features, so the model's AUC can
be compared with the best achievable one.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from codepro_leads.features.processing import add_city_tier


def generate_labeled_leads(
    demo_params: dict[str, Any], facts: dict[str, Any], processing_params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Labeled raw leads (index: the lead key) and the propensity each label was drawn from."""
    demo_params = {**facts, **demo_params}  # the real aggregates; --params still win
    rng = np.random.default_rng(demo_params["seed"])
    n = demo_params["rows"]
    period = demo_params["start_date"], demo_params["end_date"]
    leads, propensity = _sample_leads(rng, n, period, 0.0, demo_params, processing_params)
    # The Bernoulli draw is the only noise: the label depends on nothing the file doesn't show.
    leads[demo_params["label_column"]] = (rng.random(n) < propensity).astype("int64")
    leads, propensity = _with_export_quirks(rng, leads, propensity, demo_params["quirks"])
    return leads[demo_params["columns"]], _propensity_frame(leads, propensity)


def _with_export_quirks(
    rng: np.random.Generator, leads: pd.DataFrame, propensity: np.ndarray, spec: dict[str, Any]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Some leads repeated (over random rows, kept in time order) and one row per bad value,
    as in real exports."""
    n = len(leads)
    rows = np.arange(n)
    repeats = rng.choice(n, size=round(n * spec["duplicate_share"]), replace=False)
    rows[repeats] = rng.choice(n, size=len(repeats))
    rows = rows[np.argsort(leads["created_date"].to_numpy()[rows], kind="stable")]
    leads = leads.iloc[rows].set_axis(pd.RangeIndex(n))
    propensity = propensity[rows]

    bad_rows = rng.choice(n, size=len(spec["bad_values"]), replace=False)
    for row, (col, value) in zip(bad_rows, spec["bad_values"], strict=True):
        leads[col] = leads[col].astype(object)
        leads.iloc[row, leads.columns.get_loc(col)] = value
    return leads, propensity


def generate_new_leads(
    demo_params: dict[str, Any], facts: dict[str, Any], processing_params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unlabeled new leads after the training period, optionally drifted, and their propensity."""
    demo_params = {**facts, **demo_params}  # the real aggregates; --params still win
    leads, propensity = _new_leads(demo_params, processing_params)
    columns = [col for col in demo_params["columns"] if col != demo_params["label_column"]]
    return leads[columns], _propensity_frame(leads, propensity)


def generate_lead_outcomes(
    demo_params: dict[str, Any], facts: dict[str, Any], processing_params: dict[str, Any]
) -> pd.DataFrame:
    """The new leads' later labeled export, labels drawn from their true propensity."""
    demo_params = {**facts, **demo_params}  # the real aggregates; --params still win
    leads, propensity = _new_leads(demo_params, processing_params)
    # A stream of its own: the new leads are the same whether outcomes are drawn or not.
    rng = np.random.default_rng([demo_params["seed"], 2])
    completed = (rng.random(len(leads)) < propensity).astype("int64")
    return leads.assign(**{demo_params["label_column"]: completed})[demo_params["columns"]]


def _new_leads(
    demo_params: dict[str, Any], processing_params: dict[str, Any]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The new leads (keys after the labeled ones) and propensity, from a stream of their own."""
    rng = np.random.default_rng([demo_params["seed"], 1])
    period = demo_params["new_start_date"], demo_params["new_end_date"]
    drift = float(demo_params.get("drift", 0.0))
    n = demo_params["new_rows"]
    leads, propensity = _sample_leads(rng, n, period, drift, demo_params, processing_params)
    leads.index = leads.index + demo_params["rows"]
    return leads, propensity


def _sample_leads(
    rng: np.random.Generator,
    n: int,
    period: tuple[str, str],
    drift: float,
    params: dict[str, Any],
    processing_params: dict[str, Any],
) -> tuple[pd.DataFrame, np.ndarray]:
    """Raw columns (no label) and the true propensity of ``n`` leads."""
    shift = params["drift_effects"]
    data: dict[str, Any] = {
        "created_date": _sample_dates(rng, n, *period, params["date_format"]),
        "city_mapped": _sample_city(rng, n, params["city"]),
    }
    for col, spec in params["categorical"].items():
        data[col] = _sample_levels(
            rng, n, spec["frequencies"], drift * shift["categorical_share"], shift["new_levels"]
        )
    dropped = params["total_leads_droppped"]
    values = np.array([int(v) for v in dropped["value_frequencies"]], dtype=float)
    counts = rng.choice(values, size=n, p=_normalised(dropped["value_frequencies"].values()))
    # Drift: some leads were bought once more than usual.
    counts += (rng.random(n) < drift * shift["leads_dropped_share"]).astype(float)
    referred = (rng.random(n) < params["referred_lead"]["rate_of_1"]).astype(float)
    # Their real missing rates are identical (0.3641%): taken as missing on the same leads.
    missing = rng.random(n) < dropped["missing_rate"]
    counts[missing] = np.nan
    referred[missing] = np.nan
    data["total_leads_droppped"] = counts
    data["referred_lead"] = referred
    data.update(_sample_interactions(rng, n, params["interactions"]))

    leads = pd.DataFrame(data)
    # Drift fades the campaign effects too: realized performance falls, not only the inputs.
    level_scale = 1.0 - drift * shift["level_effect_fade"]
    log_odds = _log_odds(leads, params["propensity"], processing_params, level_scale)
    log_odds += _month_to_month(leads, params)
    return leads, 1.0 / (1.0 + np.exp(-log_odds))


def _month_to_month(leads: pd.DataFrame, params: dict[str, Any]) -> np.ndarray:
    """Log-odds that change with creation time: the month's swing and moving campaign effects."""
    swings = params["month_to_month"]
    created = pd.to_datetime(leads["created_date"], format=params["date_format"])
    rates = pd.Series(swings["completion_rate_by_month"], dtype=float)
    months = created.dt.strftime("%Y-%m").to_numpy()
    # Months after the last listed one keep its swing; before the first, the first one's.
    month = np.clip(np.searchsorted(rates.index.to_numpy(), months, side="right") - 1, 0, None)
    swing = (_logit(rates) - _logit(rates.mean())).to_numpy()[month]

    days = ((created - pd.Timestamp(params["start_date"])).dt.total_seconds() / 86_400).to_numpy()
    knots, walks = campaign_walks(params)
    for col, walk in walks.items():
        # Row i: the walk of the i-th level with its own effect; the last row: all others'.
        effects = params["propensity"]["level_log_odds"][col]
        row = leads[col].map({level: i for i, level in enumerate(effects)}).fillna(len(effects))
        at = np.array([np.interp(days, knots, offsets) for offsets in walk])
        swing += at[row.to_numpy(dtype=int), np.arange(len(leads))]
    return swing


def campaign_walks(params: dict[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Log-odds offsets of each level effect (rows: ``level_log_odds``' order, then the others)
    at ``knots`` (days since ``start_date``): a trend plus a random walk, both zero at the end
    of the labeled period and centred on the level mix (the completion rate stays)."""
    swings = params["month_to_month"]
    origin = pd.Timestamp(params["start_date"])
    last = max(pd.Timestamp(params["end_date"]), pd.Timestamp(params["new_end_date"]))
    anchor = (pd.Timestamp(params["end_date"]) + pd.Timedelta(days=1) - origin).days
    step = float(swings["effect_step_days"])
    knots = np.arange(0.0, (last - origin).days + 1 + step, step)
    rng = np.random.default_rng([params["seed"], 3])
    walks = {}
    for col, effects in params["propensity"]["level_log_odds"].items():
        steps = rng.normal(0.0, swings["effect_step_sd"], (len(effects) + 1, len(knots)))
        walk = np.cumsum(steps, axis=1)
        walk -= np.array([np.interp(anchor, knots, offsets) for offsets in walk])[:, None]
        slopes = rng.normal(0.0, swings["effect_trend_sd"], len(effects) + 1)
        walk += slopes[:, None] * (knots - anchor)[None, :] / 30.0
        frequencies = params["categorical"][col]["frequencies"]
        shares = dict(zip(frequencies, _normalised(frequencies.values()), strict=True))
        mix = np.array([shares.get(level, 0.0) for level in effects])
        walks[col] = walk - np.append(mix, 1.0 - mix.sum()) @ walk
    return knots, walks


def _logit(p: Any) -> Any:
    return np.log(p / (1.0 - p))


def _sample_dates(rng: np.random.Generator, n: int, start: str, end: str, fmt: str) -> np.ndarray:
    """Uniform timestamps from ``start`` to the end of day ``end``, in time order."""
    first = pd.Timestamp(start)
    seconds = (pd.Timestamp(end) + pd.Timedelta(days=1) - first).total_seconds()
    offsets = np.sort(rng.integers(0, int(seconds), size=n))
    return (first + pd.to_timedelta(offsets, unit="s")).strftime(fmt).to_numpy()


def _sample_city(rng: np.random.Generator, n: int, spec: dict[str, Any]) -> np.ndarray:
    """Listed cities at their real shares plus a long synthetic tail; some missing."""
    names = list(spec["frequencies"])
    shares = list(spec["frequencies"].values())
    # ~1,200 rarer real cities: their mass over synthetic names, 1 / (rank + offset) each.
    tail = spec["tail"]
    rank = np.arange(1, tail["levels"] + 1)
    weights = 1.0 / (rank + tail["decay_offset"])
    names += [f"{tail['name_prefix']}{i:04d}" for i in rank]
    shares += list(tail["mass"] * weights / weights.sum())
    city = rng.choice(np.array(names, dtype=object), size=n, p=_normalised(shares))
    city[rng.random(n) < spec["missing_rate"]] = np.nan
    return city


def _sample_levels(
    rng: np.random.Generator,
    n: int,
    frequencies: dict[str, float],
    new_share: float,
    new_levels: int,
) -> np.ndarray:
    """Levels at their real frequencies; ``new_share`` of leads get unseen levels."""
    names = list(frequencies)
    shares = _normalised(frequencies.values()) * (1.0 - new_share)
    if new_share > 0:
        # New campaigns: levels named after the highest known one, e.g. Level64, Level65, ...
        top = max(int(re.search(r"\d+$", name).group()) for name in names)
        names += [f"Level{top + 1 + i}" for i in range(new_levels)]
        shares = np.append(shares, np.full(new_levels, new_share / new_levels))
    return rng.choice(np.array(names, dtype=object), size=n, p=_normalised(shares))


def _sample_interactions(
    rng: np.random.Generator, n: int, spec: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Geometric interaction counts of the real mean on a few leads, NaN elsewhere."""
    active = rng.random(n) < spec["rows_with_any"]
    n_active = int(active.sum())
    columns = spec["per_column"]
    rate = (
        np.array([max(c["non_null_rows"], spec["min_non_null_rows"]) for c in columns.values()])
        / spec["source_active_rows"]
    )
    present = rng.random((n_active, len(columns))) < np.minimum(rate, 1.0)
    # Every active lead has at least one interaction: pick one by rate where none was drawn.
    none = ~present.any(axis=1)
    present[none, rng.choice(len(columns), size=int(none.sum()), p=rate / rate.sum())] = True
    out = {}
    for j, (col, c) in enumerate(columns.items()):
        values = np.full(n, np.nan)
        mean = c["mean_when_present"] or 1.0
        counts = rng.geometric(1.0 / mean, size=n_active).astype(float)
        values[active] = np.where(present[:, j], counts, np.nan)
        out[col] = values
    return out


def _log_odds(
    leads: pd.DataFrame,
    spec: dict[str, Any],
    processing_params: dict[str, Any],
    level_scale: float = 1.0,
) -> np.ndarray:
    """The additive log-odds of the YAML, listed level effects scaled by ``level_scale``."""
    log_odds = np.full(len(leads), float(spec["intercept"]))
    for col, effects in spec["level_log_odds"].items():
        # Levels without their own effect (rare or new ones) share one common effect.
        level = leads[col].map({k: v * level_scale for k, v in effects.items()})
        log_odds += level.fillna(spec["other_level_log_odds"][col]).to_numpy()
    tier = add_city_tier(leads[["city_mapped"]], processing_params)["city_tier"]
    log_odds += tier.map(spec["city_tier_log_odds"]).to_numpy()
    # Missing counts mean 0 (as in data_processing), and 0 or 1 leads dropped add nothing.
    dropped = leads["total_leads_droppped"].fillna(0).clip(lower=1).to_numpy()
    log_odds += spec["log_leads_dropped_log_odds"] * np.log(dropped)
    log_odds += spec["referred_lead_log_odds"] * leads["referred_lead"].fillna(0).to_numpy()
    groups = processing_params["interaction_groups"]
    for group, effect in spec["interaction_group_log_odds"].items():
        log_odds += effect * leads[groups[group]].notna().any(axis=1).to_numpy()
    return log_odds


def _normalised(shares: Any) -> np.ndarray:
    """Shares as probabilities summing to 1."""
    p = np.asarray(list(shares), dtype=float)
    return p / p.sum()


def _propensity_frame(leads: pd.DataFrame, propensity: np.ndarray) -> pd.DataFrame:
    """The true propensity per lead by key and creation time (a key alone matches others')."""
    return pd.DataFrame(
        {
            "lead_id": leads.index.to_numpy(),
            "created_date": pd.to_datetime(leads["created_date"], errors="coerce").to_numpy(),
            "propensity": propensity,
        }
    )
