"""Score factors in a salesperson's words: ``first_platform_c=Level0`` -> "Platform: Level0"."""

from __future__ import annotations

from codepro_leads.scoring.encoder import OTHER_LEVEL

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
