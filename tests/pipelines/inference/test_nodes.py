"""Inference nodes alone and the order of the pipeline's writes: drift status limits, small
batches, row accounting, the score table's fixed shape, the CRM export, per-batch processing
and scoring that equal the whole-file ones (keys repeated across batches included), shadow
scores, and every output waiting for the score store."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codepro_leads.datasets import LeadBatchesDataset
from codepro_leads.datasets.model_registry import RegisteredModel
from codepro_leads.errors import ConfigError, LeadDataError
from codepro_leads.features.processing import prepare_leads, validate_raw_leads
from codepro_leads.pipelines.inference import create_pipeline, nodes
from codepro_leads.scoring.drift import DriftCounts
from codepro_leads.scoring.factor_texts import FACTOR_TEXTS, factor_texts
from codepro_leads.scoring.wording import factor_in_words
from tests.conftest import load_params, make_raw


@pytest.fixture(scope="module")
def params():
    return load_params("inference")


@pytest.mark.parametrize(
    ("max_psi", "junk_shift", "status"),
    [
        (0.05, 0.01, "ok"),
        (0.10, 0.05, "ok"),  # limits are exclusive
        (0.11, 0.00, "warn"),
        (0.00, 0.06, "warn"),
        (0.26, 0.00, "alert"),
        (0.00, 0.11, "alert"),
    ],
)
def test_drift_status(params, max_psi, junk_shift, status):
    assert nodes.drift_status(max_psi, junk_shift, params) == status


def _scored(rows, factors=("up_1", "up_2", "down_1")):
    columns = ["lead_id", "score", "grade", "is_junk", "probability"]
    for factor in factors:
        direction, rank = factor.split("_")
        columns += [f"{direction}_factor_{rank}", f"{direction}_factor_{rank}_effect"]
    scored = pd.DataFrame(rows, columns=[*columns, "model_version", "scored_at"])
    return pd.concat([scored, factor_texts(scored)], axis=1)  # as score_new_leads leaves them


def _two_leads():
    return _scored(
        [
            ["7", 81, "A", False, 0.812345, "a=1", 0.5, "b=2", 0.1, "c=3", -0.2, "1", "2022-03-01"],
            ["8", 12, "D", True, 0.12, None, None, None, None, "c=3", -0.9, "1", "2022-03-01"],
        ]
    )


def test_crm_export_joins_the_reasons_in_sales_words():
    """The app's words for the factors; the model version a number, not text."""
    scored = _scored(
        [
            [
                *("7", 81, "A", False, 0.812345),
                *("first_platform_c=Level0", 0.5, "referred_lead=1", 0.1, "city_tier=3", -0.2),
                *("2", "2022-03-01"),
            ],
            [
                *("8", 12, "D", True, 0.12),
                *(None, None, None, None, "first_utm_medium_c=others", -0.9),
                *("2", "2022-03-01"),
            ],
        ]
    )
    crm = nodes.export_for_crm(scored)
    assert crm.to_dict("list") == {
        "lead_id": ["7", "8"],
        "lead_score": [81, 12],
        "lead_grade": ["A", "D"],
        "junk": ["no", "yes"],
        "completion_probability": [0.8123, 0.12],
        "raises_score": ["Platform: Level0; Referred by someone", ""],
        "lowers_score": ["City tier: 3", "Marketing medium is a rare or unknown one"],
        "model_version": [2, 2],
        "scored_at": ["2022-03-01", "2022-03-01"],
    }
    assert crm["model_version"].dtype == "int64"


_LABELS = st.sampled_from(['city="A"', "path=C:\\x", "é=ü", "tab=\t", "a=1"])
_EFFECTS = st.floats(allow_nan=False, allow_infinity=False, width=64).filter(lambda x: x != 0)


@given(rows=st.lists(st.lists(st.tuples(_LABELS, _EFFECTS), max_size=3), max_size=6))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_factor_texts_hold_every_label_and_effect_exactly(rows):
    """The factor lists are built column-wise in Arrow: whatever the label's characters and
    the effect's magnitude, the JSON reads back as the factors, and the CRM text joins them."""
    factors = [f"up_{rank}" for rank in (1, 2, 3)]
    table = [
        [
            i,
            50,
            "B",
            False,
            0.5,
            *[v for k in range(3) for v in (row[k] if k < len(row) else (None, None))],
            "1",
            "t",
        ]
        for i, row in enumerate(rows)
    ]
    scored = _scored(table, factors=factors)
    stored = nodes.store_rows(scored.assign(created_date=pd.Timestamp("2022-02-01")), "champion")
    assert [json.loads(text) for text in stored["up_factors"]] == [
        [{"factor": label, "effect": effect} for label, effect in row] for row in rows
    ]
    assert nodes.export_for_crm(scored)["raises_score"].tolist() == [
        "; ".join(factor_in_words(label) for label, _ in row) for row in rows
    ]


def test_an_all_rejected_batch_exports_nothing():
    assert nodes.export_for_crm(_scored([])).empty


def test_stored_scores_have_one_shape_whatever_the_number_of_factors():
    three = _two_leads().assign(created_date=pd.Timestamp("2022-02-01"))
    factors = ["a=1", 0.4, "b=2", 0.3, "c=3", 0.2, "d=4", 0.1, "e=5", 0.05]
    five = _scored(
        [[9, 50, "B", False, 0.5, *factors, "1", "2022-03-01"]],
        factors=("up_1", "up_2", "up_3", "up_4", "up_5"),
    ).assign(created_date=pd.Timestamp("2022-02-01"))

    rows = nodes.store_rows(three, "champion")
    assert rows.columns.tolist() == nodes.store_rows(five, "shadow").columns.tolist()
    assert rows.columns.tolist() == [
        "lead_id",
        "model_version",
        "role",
        "created_date",
        "probability",
        "score",
        "grade",
        "is_junk",
        "up_factors",
        "down_factors",
        "scored_at",
    ]
    assert [json.loads(text) for text in rows["up_factors"]] == [
        [{"factor": "a=1", "effect": 0.5}, {"factor": "b=2", "effect": 0.1}],
        [],
    ]
    assert [json.loads(text) for text in rows["down_factors"]] == [
        [{"factor": "c=3", "effect": -0.2}],
        [{"factor": "c=3", "effect": -0.9}],
    ]
    assert rows["role"].tolist() == ["champion", "champion"]
    assert nodes.store_rows(five, "shadow")["role"].tolist() == ["shadow"]
    up_five = json.loads(nodes.store_rows(five, "shadow")["up_factors"].iloc[0])
    assert [factor["factor"] for factor in up_five] == ["a=1", "b=2", "c=3", "d=4", "e=5"]


def _totals(rows_read, rows_rejected, scored=2, rejected_rows=None):
    return nodes.RunTotals(
        scored_at=pd.Timestamp("2022-03-01"),
        counts={"rows_read": rows_read, "rows_rejected": rows_rejected, "duplicates_dropped": 0},
        rows_scored=scored,
        rejected_rows=rows_rejected if rejected_rows is None else rejected_rows,
    )


def test_row_accounting_stops_before_anything_is_written():
    nodes.account_for_rows(_totals(3, 1))
    with pytest.raises(
        RuntimeError,
        match=r"read 4 new leads but 2 scored \+ 1 rejected \+ 0 duplicates dropped = 3",
    ):
        nodes.account_for_rows(_totals(4, 1))
    with pytest.raises(RuntimeError, match="2 rejected rows, but validation counted 1"):
        nodes.account_for_rows(_totals(3, 1, rejected_rows=2))


def test_a_label_column_in_new_leads_is_dropped_as_the_served_model_does(processing_params):
    # A blank label and two leads alike but for the key: scored all, as the served model does.
    raw = make_raw(processing_params, [{"app_complete_flag": None}, {}])
    batch, _ = nodes.process_batch(raw, processing_params, "stop", nodes.KeySet())
    served, _ = prepare_leads(raw.drop(columns="app_complete_flag"), processing_params)
    assert "app_complete_flag" not in batch.leads.columns
    pd.testing.assert_frame_equal(batch.leads, served)
    assert (batch.counts["rows_rejected"], batch.counts["duplicates_dropped"]) == (0, 0)


def _raw_with_bad_rows(params):
    """Leads with every kind of key trouble: repeated keys (valid and invalid rows), a
    missing key, and bad values."""
    rows = [{"": key} for key in [1, 2, 3, 2, 4, 1, 5, 6, 3, 7, None, 8, 8, 9]]
    rows[3]["total_leads_droppped"] = -1  # a repeated key and a bad value
    rows[5]["created_date"] = "yesterday"
    rows[6]["referred_lead"] = 3
    rows[11]["total_leads_droppped"] = 1.5
    return make_raw(params, rows, labeled=False)


def _whole(raw, params):
    """Processing of the whole frame at once, as one batch."""
    return nodes.process_batch(raw, params, "stop", nodes.KeySet())[0]


def _in_batches(raw, params, bounds):
    """Processing of the same frame in batches cut at ``bounds``, joined back."""
    edges = [0, *bounds, len(raw)]
    parts = [raw.iloc[a:b].reset_index(drop=True) for a, b in zip(edges, edges[1:], strict=False)]
    earlier, batches = nodes.KeySet(), []
    for part in parts:  # as score_batches goes
        batch, keys = nodes.process_batch(part, params, "stop", earlier)
        earlier.add(keys)
        batches.append(batch)
    counts = {}
    for batch in batches:
        counts = nodes._added_counts(counts, batch.counts)
    with_leads = [b.leads for b in batches if len(b.leads)]  # as the writers skip empty ones
    return (
        pd.concat(with_leads or [batches[0].leads], ignore_index=True),
        pd.concat([b.rejected for b in batches], ignore_index=True),
        counts,
    )


def test_keys_repeated_across_batches_are_rejected_as_within_one(processing_params):
    raw = _raw_with_bad_rows(processing_params)
    leads, rejected, counts = _in_batches(raw, processing_params, [2, 5, 9])
    assert rejected["reason"].tolist() == [
        "lead_id: repeats an earlier row ('2'); total_leads_droppped: negative count (-1)",
        "lead_id: repeats an earlier row ('1'); created_date: not an ISO 8601 date ('yesterday')",
        "referred_lead: not 0 or 1 (3)",
        "lead_id: repeats an earlier row ('3')",
        "lead_id: missing",
        "total_leads_droppped: not a whole number (1.5)",
        "lead_id: repeats an earlier row ('8')",
    ]
    assert leads["lead_id"].tolist() == ["1", "2", "3", "4", "6", "7", "9"]
    assert counts["reject_reasons"]["lead_id: repeats an earlier row"] == 4
    assert (counts["rows_read"], counts["rows_rejected"]) == (14, 7)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bounds=st.lists(st.integers(min_value=1, max_value=13), max_size=4, unique=True))
def test_processing_in_batches_equals_processing_the_whole_file(processing_params, bounds):
    raw = _raw_with_bad_rows(processing_params)
    whole = _whole(raw, processing_params)
    leads, rejected, counts = _in_batches(raw, processing_params, sorted(bounds))
    pd.testing.assert_frame_equal(leads, whole.leads)
    pd.testing.assert_frame_equal(rejected, whole.rejected.reset_index(drop=True))
    assert counts == whole.counts
    # ...which is validation's own verdict on the whole file.
    assert (
        counts["rows_rejected"]
        == validate_raw_leads(raw, processing_params, "stop")[2]["rows_rejected"]
    )


class _Reference:
    """Drift reference stand-in: every batch looks drifted (PSI 0.9)."""

    junk_share = 0.3

    def psi_of(self, counts):
        return {"city_tier": 0.9, "total_leads_droppped": 0.05}

    def unseen_share_of(self, counts):
        return {"first_platform_c": 0.0}

    def counts(self, encoder, leads):
        return DriftCounts(leads=len(leads))


def _champion(version="3", scores=None):
    def score(leads, chunk_size, explained, texts):
        scored = scores.loc[scores["lead_id"].isin(leads["lead_id"])].reset_index(drop=True)
        return scored.join(factor_texts(scored)) if texts else scored

    scorer = SimpleNamespace(
        reference=_Reference(),
        # Each lead its own feature row.
        encoder=SimpleNamespace(feature_names=["lead_id"], transform=lambda x: x[["lead_id"]]),
        grade_bands={"A": 75, "B": 50, "C": 25, "D": 0},
        score=score,
    )
    return RegisteredModel("codepro-lead-scorer", version, SimpleNamespace(scorer=scorer))


def _monitor(scored, params, min_leads):
    limits = {**params, "monitoring": {**params["monitoring"], "min_leads": min_leads}}
    totals = nodes.RunTotals(scored_at=pd.Timestamp("2022-03-01"))
    totals = totals.add(nodes.ProcessedBatch(scored, scored.head(0), {}), scored, 0, DriftCounts())
    row, metrics = nodes.monitor_scores(totals, _champion(), limits)
    return row.iloc[0], metrics


def test_fewer_leads_than_min_leads_are_insufficient_data_with_psi_recorded(params):
    row, metrics = _monitor(_two_leads(), params, min_leads=3)
    assert row["status"] == "insufficient_data"
    assert row["max_psi"] == 0.9
    assert json.loads(row["psi"]) == {"city_tier": 0.9, "total_leads_droppped": 0.05}
    assert metrics["monitoring_max_psi"] == {"value": 0.9, "step": 0}

    assert _monitor(_two_leads(), params, min_leads=2)[0]["status"] == "alert"


def test_the_monitoring_row_has_one_shape_whatever_the_grades(params):
    row, _ = _monitor(_two_leads(), params, min_leads=1)
    assert row.index.tolist() == [
        "run_id",
        "scored_at",
        "model_version",
        "leads",
        "mean_probability",
        "junk_share",
        "junk_share_training",
        "grade_shares",
        "max_psi",
        "max_psi_feature",
        "psi",
        "unseen_level_share",
        "status",
    ]
    assert json.loads(row["grade_shares"]) == {"A": 0.5, "B": 0.0, "C": 0.0, "D": 0.5}
    assert row["mean_probability"] == pytest.approx((0.812345 + 0.12) / 2, abs=1e-15)
    assert (row["leads"], row["junk_share"]) == (2, 0.5)
    assert len(row["run_id"]) == 32
    assert row["run_id"] != _monitor(_two_leads(), params, min_leads=1)[0]["run_id"]


def _model_scores():
    """What a scorer gives for leads 7 and 8 (before the version and time are stamped)."""
    scores = _two_leads().drop(columns=["model_version", "scored_at", *FACTOR_TEXTS])
    return scores.assign(created_date=pd.Timestamp("2022-02-01"))


def _new_leads(processing_params, *batches):
    """A new-leads handle giving these raw batches, each a list of keys (a key in a tuple:
    that row has a bad date)."""
    raws = [
        make_raw(
            processing_params,
            [{"": k[0], "created_date": "x"} if isinstance(k, tuple) else {"": k} for k in keys],
            labeled=False,
        )
        for keys in batches
    ]
    return SimpleNamespace(name="new.csv", batches=lambda rows, **kinds: iter(raws))


def test_the_challenger_scores_in_the_shadow_and_never_reaches_the_crm(params, processing_params):
    scores = _model_scores()
    champion, challenger = _champion("3", scores), _champion("4", scores.assign(score=50))
    new_leads = _new_leads(processing_params, [7, (70,)], [8])
    batches = list(nodes.score_batches(new_leads, champion, challenger, processing_params, params))
    table = pd.concat([b["scored_leads_table"] for b in batches], ignore_index=True)
    assert table[["lead_id", "model_version", "role", "score"]].values.tolist() == [
        ["7", "3", "champion", 81],
        ["7", "4", "shadow", 50],
        ["8", "3", "champion", 12],
        ["8", "4", "shadow", 50],
    ]
    crm = pd.concat([b["scored_leads_crm"] for b in batches], ignore_index=True)
    assert crm[["lead_id", "model_version"]].values.tolist() == [["7", 3], ["8", 3]]
    scored = pd.concat([b["scored_leads"] for b in batches], ignore_index=True)
    assert scored["model_version"].tolist() == ["3", "3"]
    rejected = pd.concat([b["rejected_new_leads"] for b in batches], ignore_index=True)
    assert rejected["reason"].tolist() == ["created_date: not an ISO 8601 date ('x')"]
    totals = batches[-1]["summary"]  # the run's totals: what inference_outputs loads as
    report = nodes.report_run(totals)
    assert (report["rows_read"], report["rows_scored"], report["rows_rejected"]) == (3, 2, 1)
    assert (report["shadow_model_version"], report["shadow_rows_stored"]) == ("4", 2)
    assert report["reject_reasons"] == {"created_date: not an ISO 8601 date": 1}
    assert batches[0]["summary"].rows_scored == 1  # the totals so far, batch by batch
    # The champion's monitoring row has the champion's leads only.
    assert nodes.monitor_scores(totals, champion, params)[0]["leads"].tolist() == [2]


def test_a_model_holding_both_aliases_is_not_scored_twice(params, processing_params):
    model = _champion("3", _model_scores())
    new_leads = _new_leads(processing_params, [7, 8])
    (batch,) = list(nodes.score_batches(new_leads, model, model, processing_params, params))
    assert batch["scored_leads_table"]["role"].tolist() == ["champion", "champion"]
    assert nodes.report_run(batch["summary"])["shadow_rows_stored"] == 0


def test_rows_that_do_not_add_up_fail_the_last_batch_before_the_store_commits(
    params, processing_params, monkeypatch
):
    process_batch = nodes.process_batch

    def miscounted(*args):
        batch, keys = process_batch(*args)
        return batch._replace(counts={**batch.counts, "rows_read": 5}), keys

    monkeypatch.setattr(nodes, "process_batch", miscounted)
    new_leads = _new_leads(processing_params, [7])
    champion = _champion("3", _model_scores())
    outputs = nodes.score_batches(new_leads, champion, None, processing_params, params)
    with pytest.raises(RuntimeError, match="read 5 new leads but 1 scored"):
        list(outputs)


def test_every_output_is_written_only_after_the_scores_are_stored():
    pipeline = create_pipeline()
    scoring = next(node for node in pipeline.nodes if node.name == "score_batches")
    assert scoring.outputs == ["inference_outputs"]
    # Everything else is made from what inference_outputs loads as, once it is saved.
    after_store = pipeline.from_inputs("inference_outputs")
    assert after_store.all_outputs() == {
        "inference_report",
        "monitoring_runs",
        "monitoring_metrics",
        "drift_history_plot",
    }
    assert set(pipeline.nodes) - set(after_store.nodes) == {scoring}


def test_score_new_leads_uses_the_models_own_factors():
    calls = []

    def score(leads, chunk_size, explained, texts):
        calls.append((chunk_size, texts))
        return pd.DataFrame({"lead_id": leads["lead_id"], "probability": np.full(len(leads), 0.5)})

    champion = RegisteredModel(
        "codepro-lead-scorer", "3", SimpleNamespace(scorer=SimpleNamespace(score=score))
    )
    at = pd.Timestamp("2022-03-01 10:00:00")
    scored = nodes.score_new_leads(
        pd.DataFrame({"lead_id": [1, 2]}), champion, {"chunk_size": 7}, at
    )
    assert calls == [(7, True)]
    assert scored["model_version"].tolist() == ["3", "3"]
    assert scored["scored_at"].tolist() == [at, at]


@pytest.fixture(scope="module")
def small_scorer():
    """A real LeadScorer on three features, one of them text with missing values."""
    import lightgbm as lgb

    from codepro_leads.scoring.calibration import PlattCalibrator
    from codepro_leads.scoring.encoder import LeadEncoder
    from codepro_leads.scoring.scorer import LeadScorer

    rng = np.random.default_rng(1)
    leads = _leads_to_score(rng, 2000)
    label = (
        rng.random(len(leads)) < np.where(leads["platform"].eq("L0").fillna(False), 0.7, 0.3)
    ).astype(int)
    encoder = LeadEncoder.fit(leads, ["dropped", "tier"], ["platform"], 0.99)
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(encoder.transform(leads), label)
    bands = {"A": 75, "B": 50, "C": 25, "D": 0}
    return LeadScorer(encoder, model, PlattCalibrator(0.9, 0.1), threshold=0.4, grade_bands=bands)


def _leads_to_score(rng, n):
    return pd.DataFrame(
        {
            "lead_id": np.arange(n),
            "created_date": pd.Timestamp("2022-01-01") + pd.to_timedelta(np.arange(n), "s"),
            "dropped": rng.integers(0, 8, n).astype(float),
            "tier": rng.integers(1, 4, n),
            "platform": pd.array(rng.choice(["L0", "L1", "L2", None], n), dtype="string[pyarrow]"),
        }
    )


@pytest.mark.parametrize("batch", [37, 400])
def test_scores_in_batches_are_the_scores_of_the_whole(small_scorer, batch):
    leads = _leads_to_score(np.random.default_rng(2), 1000)
    model = RegisteredModel("codepro-lead-scorer", "1", SimpleNamespace(scorer=small_scorer))
    at, chunk = pd.Timestamp("2022-03-01 10:00:00"), {"chunk_size": 50}
    whole = nodes.score_new_leads(leads, model, chunk, at)
    batches = [
        nodes.score_new_leads(leads.iloc[i : i + batch].reset_index(drop=True), model, chunk, at)
        for i in range(0, len(leads), batch)
    ]
    # The factor texts come along too.
    assert set(factor_texts(whole).columns) < set(whole.columns)
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), whole, check_exact=True)


@given(batches=st.lists(st.lists(st.integers(-(2**40), 2**40), max_size=40), max_size=8))
@settings(max_examples=80, deadline=None)
def test_the_key_set_holds_exactly_the_keys_added(batches):
    keys, seen = nodes.KeySet(), set()
    for batch in batches:
        batch = pd.Series(batch, dtype="int64")
        assert keys.contains(batch).tolist() == [key in seen for key in batch]
        keys.add(batch)
        seen.update(batch)


def test_keys_are_text_as_written_across_batches(params, processing_params, tmp_path):
    keys = ["00042", "01", "1", "42", "12345678901234567890", "12345678901234567891", "A-7", "01"]
    path = tmp_path / "new.csv"
    rows = [{"": key} for key in keys]
    make_raw(processing_params, rows, labeled=False).to_csv(path, index=False)
    new_leads = LeadBatchesDataset(str(path)).load()
    earlier, leads, rejected = nodes.KeySet(), [], []
    for raw in nodes.read_in_batches(new_leads, processing_params, {**params, "batch_size": 3}):
        batch, batch_keys = nodes.process_batch(raw, processing_params, "stop", earlier)
        earlier.add(batch_keys)
        leads.append(batch.leads)
        rejected.append(batch.rejected)
    assert pd.concat(leads)["lead_id"].tolist() == keys[:-1]
    assert pd.concat(rejected)["reason"].tolist() == ["lead_id: repeats an earlier row ('01')"]


def test_a_run_that_scores_nothing_fails_in_one_line_after_its_last_batch(
    params, processing_params
):
    new_leads = _new_leads(processing_params, [(7,)], [(8,), (9,)])
    batches = nodes.score_batches(
        new_leads, _champion("3", _model_scores()), None, processing_params, params
    )
    assert len(next(batches)["scored_leads"]) == 0  # an empty batch is fine on its own
    with pytest.raises(LeadDataError) as error:
        list(batches)  # before the store commits: no outputs
    assert str(error.value) == (
        "new.csv: 0 usable new leads of 3 read, at least 1 needed; most rejected for: "
        "created_date: not an ISO 8601 date (3)"
    )


@pytest.mark.parametrize(
    ("setting", "value"), [("batch_size", "abc"), ("batch_size", 0), ("chunk_size", 0)]
)
def test_a_batch_or_chunk_size_that_is_not_a_row_count_stops_in_one_line(
    params, processing_params, setting, value
):
    with pytest.raises(ConfigError) as error:
        nodes.read_in_batches(
            _new_leads(processing_params, [7]), processing_params, {**params, setting: value}
        )
    assert str(error.value) == f"inference.{setting} must be a whole number of rows, not {value!r}"
