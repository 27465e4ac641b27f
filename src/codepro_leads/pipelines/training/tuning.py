"""Apply the LightGBM parameters tuned by the model_selection pipeline, when there are any."""

from __future__ import annotations

from typing import Any

# LightGBM's spellings of one parameter: a tuned value replaces the configured one whatever
# its spelling (two spellings make LightGBM warn and pick one).
_ALIASES = [
    {"bagging_fraction", "subsample"},
    {"bagging_freq", "subsample_freq"},
    {"feature_fraction", "colsample_bytree"},
    {"min_child_samples", "min_data_in_leaf"},
    {"min_split_gain", "min_gain_to_split"},
    {"reg_alpha", "lambda_l1"},
    {"reg_lambda", "lambda_l2"},
    {"n_estimators", "num_iterations", "num_boost_round"},
]


def apply_tuned_params(
    lightgbm_params: dict[str, Any], tuned: dict[str, Any] | None
) -> dict[str, Any]:
    """A copy of ``lightgbm_params`` with the values of ``tuned["lightgbm"]`` (model_selection's
    ``tuned_lightgbm_params``; None or empty without that file) in place of theirs."""
    merged = dict(lightgbm_params)
    for name, value in ((tuned or {}).get("lightgbm") or {}).items():
        spellings = next((group for group in _ALIASES if name in group), {name})
        for other in spellings - {name}:
            merged.pop(other, None)
        merged[name] = value
    return merged


def recency_half_life(
    params: dict[str, Any], tuned: dict[str, Any] | None
) -> tuple[float | None, str]:
    """The recency half-life in days (None: unweighted) and its source: model_selection's
    choice when it made one and ``use_tuned_params``, else the parameters'."""
    if params.get("use_tuned_params", True) and "recency_half_life_days" in (tuned or {}):
        return tuned["recency_half_life_days"], "model_selection"
    return params["recency"]["half_life_days"], "parameters"
