"""Model and monitoring: the champion and its test results, its scores, the drift history,
the challenger, and realized performance when the outcomes loop records it."""

import pandas as pd
import streamlit as st

from codepro_leads.app import charts, guards, sources, store, tables, wording

# Test metrics shown first (fractions), as the training run logged them.
HEADLINE = {
    "test_roc_auc": "ROC AUC",
    "test_precision": "Precision",
    "test_recall": "Recall",
    "test_junk_share": "Junk share",
    "test_completions_kept": "Completions kept",
}

st.title("Model and monitoring")
found = guards.project_or_stop()
champion = guards.champion_or_stop(found)
engine = guards.store_or_stop(found)
version = sources.alias_version(found, "champion")
metrics = sources.run_metrics(found, version.run_id)

st.subheader(f"Champion: {champion.name} v{champion.version}")
promotion = version.tags.get("promotion")
if promotion:
    st.caption(f"Promoted: {tables.counts_formatted(promotion)}")
cells = st.columns(len(HEADLINE))
for cell, (name, label) in zip(cells, HEADLINE.items(), strict=True):
    cell.metric(label, f"{metrics[name]:.3f}" if name in metrics else "n/a")

left, right = st.columns(2)
with left:
    st.markdown("**Completion rate by grade** (test leads)")
    grades = sources.run_csv_artifact(found, version.run_id, "grade_table.csv")
    if grades is None:
        st.info("The training run logged no grade table.")
    else:
        chart = charts.grade_bars(grades, "completion_rate", "Completion rate", ".0%")
        st.altair_chart(chart, width="stretch")
with right:
    st.markdown("**Score distribution** (latest champion scores in the store)")
    distribution = store.score_distribution(engine, champion.version)
    if distribution.empty:
        st.info(f"No scores of this champion in the store yet. {sources.NO_SCORES_HINT}")
    else:
        st.altair_chart(charts.score_histogram(distribution), width="stretch")

st.subheader("Drift history")
runs = store.whole_table(engine, store.MONITORING, order_by="scored_at")
if runs.empty:
    st.info(f"No monitoring runs yet. {sources.NO_SCORES_HINT}")
else:
    runs["max_psi_feature"] = runs["max_psi_feature"].map(wording.feature_words, na_action="ignore")
    runs["model_version"] = "v" + runs["model_version"].astype(str)
    runs["status"] = runs["status"].str.replace("_", " ")  # insufficient data
    latest = runs.iloc[-1]
    st.markdown(
        f"Latest run {pd.Timestamp(latest['scored_at']):%Y-%m-%d %H:%M}: **{latest['status']}** "
        f"(largest PSI {latest['max_psi']:.3f} on {latest['max_psi_feature']}, "
        f"{latest['leads']:,} leads)"
    )
    if len(runs) > 1:  # one run is the line above, not a chart
        st.altair_chart(charts.drift_history(runs), width="stretch")
    tables.show(runs.iloc[::-1], tables.MONITORING)

st.subheader("Challenger")
challenger = sources.alias_version(found, "challenger")
if challenger is None:
    st.caption("No challenger: the champion is the only candidate.")
else:
    note = tables.counts_formatted(challenger.tags.get("promotion", "no promotion note"))
    st.markdown(f"v{challenger.version}: {note}")
    theirs = sources.run_metrics(found, challenger.run_id)
    compared = tables.compared_metrics(metrics, theirs, HEADLINE)
    if compared.empty:
        st.caption(f"Same test results as the champion v{champion.version} (to 3 decimals).")
    else:
        st.caption(f"Where v{challenger.version} differs from the champion v{champion.version}:")
        for cell, row in zip(st.columns(len(HEADLINE)), compared.itertuples(), strict=False):
            cell.metric(
                row.metric, f"{row.challenger:.3f}", f"{row.difference:+.3f}", delta_color="off"
            )

performance = store.whole_table(engine, store.PERFORMANCE, order_by="week")
if not performance.empty:
    st.subheader("Realized performance (leads whose outcome is known)")
    performance["model"] = "v" + performance["model_version"] + " " + performance["role"]
    if "status" in performance:
        performance["status"] = performance["status"].str.replace("_", " ")
    if performance["week"].nunique() > 1:
        st.altair_chart(charts.realized_history(performance), width="stretch")
    else:  # one week: its figures, not a chart of one point
        st.markdown(f"**Realized ROC AUC**, week of {pd.Timestamp(performance['week'][0]):%b %d}")
        cells = st.columns(max(4, len(performance)))
        for cell, row in zip(cells, performance.itertuples(), strict=False):
            cell.metric(row.model, f"{row.realized_auc:.3f}")
    tables.show(performance, tables.PERFORMANCE)
