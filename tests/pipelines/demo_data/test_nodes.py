"""demo_data nodes: layout, determinism, marginals and propensity of the synthetic leads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from codepro_leads.pipelines.demo_data import create_pipeline
from codepro_leads.pipelines.demo_data.nodes import (
    _log_odds,
    _month_to_month,
    campaign_walks,
    generate_labeled_leads,
    generate_lead_outcomes,
    generate_new_leads,
)

CONF = Path(__file__).resolve().parents[3] / "conf" / "base"
FACTS = yaml.safe_load((CONF / "demo_data_facts.yml").read_text())

# CodePro's export columns, spelled as in the real file (typos included).
COLUMNS = [
    "created_date",
    "city_mapped",
    "first_platform_c",
    "first_utm_medium_c",
    "first_utm_source_c",
    "total_leads_droppped",
    "referred_lead",
    "1_on_1_industry_mentorship",
    "call_us_button_clicked",
    "career_assistance",
    "career_coach",
    "career_impact",
    "careers",
    "chat_clicked",
    "companies",
    "download_button_clicked",
    "download_syllabus",
    "emi_partner_click",
    "emi_plans_clicked",
    "fee_component_click",
    "hiring_partners",
    "homepage_upgrad_support_number_clicked",
    "industry_projects_case_studies",
    "live_chat_button_clicked",
    "payment_amount_toggle_mover",
    "placement_support",
    "placement_support_banner_tab_clicked",
    "program_structure",
    "programme_curriculum",
    "programme_faculty",
    "request_callback_on_instant_customer_support_cta_clicked",
    "shorts_entry_click",
    "social_referral_click",
    "specialisation_tab_clicked",
    "specializations",
    "specilization_click",
    "syllabus",
    "syllabus_expand",
    "syllabus_submodule_expand",
    "tab_career_assistance",
    "tab_job_opportunities",
    "tab_student_support",
    "view_programs_page",
    "whatsapp_chat_click",
    "app_complete_flag",
]
INTERACTIONS = COLUMNS[7:44]
CATEGORICAL = ["first_platform_c", "first_utm_medium_c", "first_utm_source_c"]


def _params(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONF / f"parameters_{name}.yml").read_text())[name]


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    """Small, and without export quirks (tested on their own below)."""
    clean = {"duplicate_share": 0.0, "bad_values": []}
    return {**_params("demo_data"), **FACTS, "rows": 20_000, "new_rows": 5_000, "quirks": clean}


@pytest.fixture(scope="module")
def proc() -> dict[str, Any]:
    return _params("data_processing")


@pytest.fixture(scope="module")
def labeled(demo, proc) -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_labeled_leads(demo, FACTS, proc)


@pytest.fixture(scope="module")
def big(demo, proc) -> pd.DataFrame:
    """Enough leads to check rare marginals (interactions are on ~0.1% of leads)."""
    return generate_labeled_leads({**demo, "rows": 200_000}, FACTS, proc)[0]


def _psi(expected: pd.Series, actual: pd.Series, eps: float = 1e-4) -> float:
    """Population stability index over the levels of two samples."""
    levels = sorted(set(expected) | set(actual))
    e = expected.value_counts(normalize=True).reindex(levels, fill_value=0).clip(lower=eps)
    a = actual.value_counts(normalize=True).reindex(levels, fill_value=0).clip(lower=eps)
    return float(((a - e) * np.log(a / e)).sum())


def _grouped(levels: pd.Series, keep: set[str]) -> pd.Series:
    return levels.where(levels.isin(keep), "others")


def test_columns_and_index(labeled, demo):
    leads, propensity = labeled
    assert list(leads.columns) == COLUMNS == demo["columns"]
    assert leads.index.name is None
    assert leads.index.equals(pd.RangeIndex(20_000))
    assert list(propensity.columns) == ["lead_id", "created_date", "propensity"]
    assert propensity["lead_id"].tolist() == list(range(20_000))


def test_same_seed_same_leads_other_seed_other_leads(labeled, demo, proc):
    leads, propensity = labeled
    again, again_propensity = generate_labeled_leads(demo, FACTS, proc)
    pd.testing.assert_frame_equal(leads, again)
    pd.testing.assert_frame_equal(propensity, again_propensity)
    other, other_propensity = generate_labeled_leads(
        {**demo, "seed": demo["seed"] + 1}, FACTS, proc
    )
    assert (other["first_platform_c"] != leads["first_platform_c"]).mean() > 0.5
    assert not np.allclose(other_propensity["propensity"], propensity["propensity"])


def test_label_drawn_from_propensity(labeled):
    leads, propensity = labeled
    label = leads["app_complete_flag"]
    assert label.dtype == "int64"
    assert set(label.unique()) == {0, 1}
    assert 0.45 <= label.mean() <= 0.55
    p = propensity["propensity"]
    assert p.between(0, 1, inclusive="neither").all()
    assert abs(label.mean() - p.mean()) < 0.015
    # Leads with a higher propensity complete more often.
    assert label[p > 0.8].mean() > 0.8 > 0.2 > label[p < 0.2].mean()


def test_propensity_is_the_documented_function(labeled, demo, proc):
    """Recompute the log-odds of leads without interactions from the YAML, lead by lead (plus
    the month-to-month part, checked below)."""
    leads, propensity = labeled
    spec = demo["propensity"]
    tiers = {c: int(t[-1]) for t, cities in proc["city_tiers"].items() for c in cities}
    plain = leads.loc[leads[INTERACTIONS].isna().all(axis=1)].head(200)
    over_time = pd.Series(_month_to_month(plain, demo), index=plain.index)
    for key, lead in plain.iterrows():
        log_odds = spec["intercept"] + over_time[key]
        for col in CATEGORICAL:
            effects = spec["level_log_odds"][col]
            log_odds += effects.get(lead[col], spec["other_level_log_odds"][col])
        city = (proc.get("city_aliases") or {}).get(lead["city_mapped"], lead["city_mapped"])
        log_odds += spec["city_tier_log_odds"][tiers.get(city, 3)]
        dropped = lead["total_leads_droppped"]
        log_odds += spec["log_leads_dropped_log_odds"] * np.log(1 if np.isnan(dropped) else dropped)
        log_odds += spec["referred_lead_log_odds"] * np.nan_to_num(lead["referred_lead"])
        expected = 1 / (1 + np.exp(-log_odds))
        assert propensity.loc[key, "propensity"] == pytest.approx(expected, rel=1e-12)


def test_marginals_like_the_real_export(big, demo):
    assert big["city_mapped"].isna().mean() == pytest.approx(0.038, abs=0.004)
    assert big["city_mapped"].nunique() > 1_200  # 200 listed cities + a long synthetic tail
    # total_leads_droppped and referred_lead are missing together, on ~0.36% of leads.
    assert big["total_leads_droppped"].isna().mean() == pytest.approx(0.0036, abs=0.0012)
    assert big["total_leads_droppped"].isna().equals(big["referred_lead"].isna())
    assert big["referred_lead"].mean() == pytest.approx(0.033, abs=0.004)
    assert set(big["referred_lead"].dropna().unique()) == {0.0, 1.0}
    dropped = big["total_leads_droppped"].dropna()
    assert dropped.min() == 1
    assert dropped.max() <= 50
    assert (dropped == 1).mean() == pytest.approx(0.617, abs=0.01)
    any_interaction = big[INTERACTIONS].notna().any(axis=1)
    assert 0.0006 <= any_interaction.mean() <= 0.0013
    assert big.loc[any_interaction, INTERACTIONS].min().min() >= 1
    # The busiest real interaction column is also the busiest here.
    busiest = big[INTERACTIONS].notna().sum().idxmax()
    assert busiest in {"download_button_clicked", "syllabus_expand"}
    for col in CATEGORICAL:
        listed = demo["categorical"][col]["frequencies"]
        assert set(big[col].unique()) <= set(listed)
        assert big[col].nunique() >= 0.9 * len(listed)  # the long tails appear
    assert big["first_platform_c"].value_counts(normalize=True)["Level0"] == pytest.approx(
        0.34, abs=0.005
    )


def test_dates_in_range_in_order(labeled):
    dates = labeled[0]["created_date"]
    assert dates.str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert dates.is_monotonic_increasing
    assert dates.min() >= "2021-07-01 00:00:00"
    assert dates.max() <= "2022-02-14 23:59:59"
    assert dates.min() < "2021-07-03" and dates.max() > "2022-02-12"


def test_new_leads(labeled, demo, proc):
    leads, _ = labeled
    new, propensity = generate_new_leads(demo, FACTS, proc)
    assert list(new.columns) == COLUMNS[:-1]
    assert new.index.equals(pd.RangeIndex(20_000, 25_000))
    assert propensity["lead_id"].tolist() == list(range(20_000, 25_000))
    assert not set(new.index) & set(leads.index)
    assert new["created_date"].min() >= "2022-02-15 00:00:00"
    assert new["created_date"].max() <= "2022-03-15 23:59:59"
    assert propensity["propensity"].between(0, 1, inclusive="neither").all()


def test_drift_shifts_the_mix(labeled, demo, proc):
    leads, _ = labeled
    col = "first_platform_c"
    shares = leads[col].value_counts(normalize=True)
    keep = set(shares.index[shares >= 0.01])
    reference = _grouped(leads[col], keep)
    psi = {}
    for drift in (0.0, 0.3, 1.0):
        new = generate_new_leads({**demo, "drift": drift}, FACTS, proc)[0]
        psi[drift] = _psi(reference, _grouped(new[col], keep))
    assert psi[0.0] < 0.02
    assert 0.1 < psi[0.3] < 0.25
    assert psi[1.0] > 0.25
    drifted = generate_new_leads({**demo, "drift": 1.0}, FACTS, proc)[0]
    known = demo["categorical"][col]["frequencies"]
    top = max(int(re.search(r"\d+$", level).group()) for level in known)
    assert f"Level{top + 1}" in set(drifted[col])  # a new, unseen campaign level
    assert drifted["total_leads_droppped"].mean() > leads["total_leads_droppped"].mean() + 0.3


def test_export_quirks_repeat_leads_and_plant_bad_values(demo, proc):
    quirks = {"duplicate_share": 0.01, "bad_values": [["referred_lead", "yes"], ["syllabus", "x"]]}
    leads, propensity = generate_labeled_leads({**demo, "quirks": quirks}, FACTS, proc)
    assert leads.index.equals(pd.RangeIndex(20_000))
    assert leads["created_date"].is_monotonic_increasing
    # 200 rows overwritten by copies of others (a copy of a copy counts once).
    assert 190 <= leads.duplicated().sum() <= 200
    assert (leads["referred_lead"] == "yes").sum() == 1
    assert (leads["syllabus"] == "x").sum() == 1
    # Repeats keep the propensity of the lead they copy.
    repeated = leads.duplicated(keep=False) & leads["referred_lead"].ne("yes")
    by_values = propensity[repeated.to_numpy()].groupby(
        leads.loc[repeated, COLUMNS].astype(str).agg("|".join, axis=1).to_numpy()
    )["propensity"]
    assert (by_values.nunique() == 1).all()


def test_pipeline_nodes():
    nodes = {node.name: node for node in create_pipeline().nodes}
    assert set(nodes) == {"generate_labeled_leads", "generate_new_leads", "generate_lead_outcomes"}
    labeled = nodes["generate_labeled_leads"]
    assert labeled.inputs == ["params:demo_data", "demo_data_facts", "params:data_processing"]
    # The very datasets data_processing and inference read: a lineage edge, not a shared path.
    assert labeled.outputs == ["raw_leads", "true_propensity"]
    new = nodes["generate_new_leads"]
    assert new.inputs == ["params:demo_data", "demo_data_facts", "params:data_processing"]
    assert new.outputs == ["new_leads", "new_leads_true_propensity"]
    outcomes = nodes["generate_lead_outcomes"]
    assert outcomes.inputs == ["params:demo_data", "demo_data_facts", "params:data_processing"]
    assert outcomes.outputs == ["lead_outcomes"]  # what the outcomes pipeline reads


def test_outcomes_are_the_new_leads_labeled_from_their_propensity(demo, proc):
    new, propensity = generate_new_leads(demo, FACTS, proc)
    outcomes = generate_lead_outcomes(demo, FACTS, proc)
    assert list(outcomes.columns) == COLUMNS  # the raw export layout, label last
    pd.testing.assert_frame_equal(outcomes[COLUMNS[:-1]], new)  # same keys, same values
    assert set(outcomes["app_complete_flag"]) == {0, 1}
    # Drawn from the propensity: the completion rate matches its mean within 3 standard errors.
    p = propensity["propensity"].to_numpy()
    rate = outcomes["app_complete_flag"].mean()
    assert abs(rate - p.mean()) < 3 * np.sqrt((p * (1 - p)).sum()) / len(p)
    pd.testing.assert_frame_equal(outcomes, generate_lead_outcomes(demo, FACTS, proc))


def test_drift_changes_what_makes_a_lead_complete(demo, proc):
    """With drift, the level effects fade: the propensity the training leads followed ranks
    the drifted leads' outcomes worse; without drift nothing changes."""
    from sklearn.metrics import roc_auc_score

    auc = {}
    for drift in (0.0, 1.0):
        params = {**demo, "drift": drift, "new_rows": 20_000}
        outcomes = generate_lead_outcomes(params, FACTS, proc)
        learned = _log_odds(outcomes, demo["propensity"], proc)  # the undrifted effects
        auc[drift] = roc_auc_score(outcomes["app_complete_flag"], learned)
    assert auc[0.0] > 0.8
    assert auc[1.0] < auc[0.0] - 0.1


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def test_campaign_effects_move_before_the_end_of_the_labeled_period(demo):
    """Each walk is zero on the day after end_date (the latest leads follow the YAML's
    effects), has moved well away from it seven months earlier, and averages zero over the
    level mix at every step (it moves what campaigns bring, not the completion rate)."""
    knots, walks = campaign_walks(demo)
    assert knots[0] == 0 and np.diff(knots).tolist() == [7.0] * (len(knots) - 1)
    assert knots[-1] >= (pd.Timestamp("2022-03-15") - pd.Timestamp("2021-07-01")).days
    end = (pd.Timestamp("2022-02-15") - pd.Timestamp("2021-07-01")).days
    for col, walk in walks.items():
        effects = demo["propensity"]["level_log_odds"][col]
        assert walk.shape == (len(effects) + 1, len(knots))
        assert np.abs([np.interp(end, knots, row) for row in walk]).max() < 1e-12
        assert np.abs(walk[:, 0]).max() > 0.5
        frequencies = demo["categorical"][col]["frequencies"]
        total = sum(frequencies.values())
        mix = np.array([frequencies[level] / total for level in effects])
        assert np.abs(np.append(mix, 1 - mix.sum()) @ walk).max() < 1e-12
    # Seeded: the same walks every time, other ones with another seed.
    again = campaign_walks(demo)[1]
    assert all(np.array_equal(walks[col], again[col]) for col in walks)
    other = campaign_walks({**demo, "seed": demo["seed"] + 1})[1]
    assert not np.allclose(walks["first_platform_c"], other["first_platform_c"])


def test_month_swings_follow_the_real_completion_rates(demo):
    """On the day after end_date the walks are zero: only the month's swing is left,
    logit(month rate) - logit(mean of the monthly rates); months after the last listed keep
    its swing, months before the first the first's."""
    rates = demo["month_to_month"]["completion_rate_by_month"]
    mean = np.mean(list(rates.values()))
    lead = {"first_platform_c": "Level0", "first_utm_medium_c": "Level8"}
    lead["first_utm_source_c"] = "Level999"  # an 'others' level
    leads = pd.DataFrame([lead] * 2).assign(
        created_date=["2022-02-15 00:00:00", "2022-02-15 00:00:00"]
    )
    assert _month_to_month(leads, demo) == pytest.approx([_logit(0.463) - _logit(mean)] * 2)
    assert rates["2022-02"] == 0.463 and rates["2021-08"] == 0.457
    # In the middle of the period the campaigns' walks add to the month's swing.
    august = leads.assign(created_date="2021-08-10 12:00:00")
    assert _month_to_month(august, demo)[0] != pytest.approx(_logit(0.457) - _logit(mean))
    swings = {"month_to_month": {**demo["month_to_month"], "effect_step_sd": 0.0}}
    flat = {**demo, **swings}
    flat["month_to_month"]["effect_trend_sd"] = 0.0
    assert _month_to_month(august, flat)[0] == pytest.approx(_logit(0.457) - _logit(mean))
    before = leads.assign(created_date="2021-06-30 23:00:00")
    assert _month_to_month(before, flat)[0] == pytest.approx(_logit(0.529) - _logit(mean))


def test_parameters_override_the_facts_they_share(demo, proc):
    """``--params demo_data.referred_lead.rate_of_1=1.0`` beats demo_data_facts.yml."""
    params = {k: v for k, v in demo.items() if k not in FACTS}
    params |= {"rows": 2_000, "referred_lead": {"rate_of_1": 1.0}}
    frame, _ = generate_labeled_leads(params, FACTS, proc)
    assert set(frame["referred_lead"].dropna().unique()) == {1}
