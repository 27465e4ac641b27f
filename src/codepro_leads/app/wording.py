"""Score factors in plain words: ``first_platform_c=Level0`` -> "Platform is Level0"."""

from __future__ import annotations

import json

import pandas as pd

from codepro_leads.scoring.encoder import OTHER_LEVEL

# What the model's features mean to a salesperson (the interaction features are group sums).
FEATURE_WORDS = {
    "city_tier": "City tier",
    "first_platform_c": "Platform",
    "first_utm_medium_c": "Marketing medium",
    "first_utm_source_c": "Marketing source",
    "total_leads_droppped": "Leads dropped",
    "referred_lead": "Referred",
    "assistance_interaction": "Clicks on help and support",
    "career_interaction": "Clicks on career pages",
    "payment_interaction": "Clicks on fees and payment",
    "social_interaction": "Clicks on social and referral links",
    "syllabus_interaction": "Clicks on the syllabus",
}


def feature_words(feature: str) -> str:
    """A feature's name for a salesperson."""
    return FEATURE_WORDS.get(feature, feature.replace("_", " ").capitalize())


def factor_in_words(label: str) -> str:
    """``feature=value`` as a sentence fragment."""
    feature, _, value = label.partition("=")
    if feature == "referred_lead":
        return "Referred by someone" if value == "1" else "Not referred"
    if value == OTHER_LEVEL:
        return f"{feature_words(feature)} is a rare or unknown one"
    return f"{feature_words(feature)}: {value}"


def strength(effect: float) -> str:
    """How much a factor moves the odds, in words (effects are log-odds)."""
    size = abs(effect)
    if size >= 1.0:
        return "strongly"
    if size >= 0.3:
        return "clearly"
    return "slightly"


def factors_of_row(row: pd.Series, direction: str) -> list[tuple[str, float]]:
    """(label, effect) of a scored row's ``<direction>_factor_<i>`` columns, in rank order."""
    labels = row.filter(regex=rf"^{direction}_factor_\d+$")
    return [
        (label, float(row[f"{name}_effect"]))
        for name, label in labels.items()
        if isinstance(label, str)
    ]


def joined_column(stored: pd.Series) -> pd.Series:
    """Each stored ``up_factors`` / ``down_factors`` JSON list as one line for a table cell;
    every distinct list is read once (leads share few distinct factor lists)."""
    lines = {
        text: "; ".join(factor_in_words(item["factor"]) for item in json.loads(text))
        for text in stored.dropna().unique()
        if text
    }
    return stored.map(lines).fillna("")
