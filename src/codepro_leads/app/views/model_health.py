"""Model and monitoring: the champion and its test results, its scores, the drift history,
the challenger, and realized performance when the outcomes loop records it."""

import io

import altair as alt
import pandas as pd
import streamlit as st

from codepro_leads.app import guards, sources, store

# Test metrics shown first (fractions), as the training run logged them.
HEADLINE = {
    "test_roc_auc": "ROC AUC",
    "test_precision": "Precision",
    "test_recall": "Recall",
    "test_junk_share": "Junk share",
    "test_completions_kept": "Completions kept",
}
STATUS_COLOURS = {
    "ok": "#2e7d32",
    "warn": "#f9a825",
    "alert": "#c62828",
    "insufficient_data": "#9e9e9e",
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
    st.caption(f"Promoted: {promotion}")
cells = st.columns(len(HEADLINE))
for cell, (name, label) in zip(cells, HEADLINE.items(), strict=True):
    cell.metric(label, f"{metrics[name]:.3f}" if name in metrics else "n/a")

left, right = st.columns(2)
with left:
    st.markdown("**Completion rate by grade** (test leads)")
    table = sources.run_csv_artifact(found, version.run_id, "grade_table.csv")
    if table is None:
        st.info("The training run logged no grade table.")
    else:
        grades = pd.read_csv(io.BytesIO(table))
        st.altair_chart(
            alt.Chart(grades)
            .mark_bar()
            .encode(
                x=alt.X("grade:N", sort=list(grades["grade"])),
                y=alt.Y("completion_rate:Q", axis=alt.Axis(format="%"), title="completion rate"),
                tooltip=[
                    "grade",
                    "leads",
                    "completions",
                    alt.Tooltip("completion_rate", format=".1%"),
                ],
            ),
            width="stretch",
        )
with right:
    st.markdown("**Score distribution** (latest champion scores in the store)")
    distribution = store.score_distribution(engine, champion.version)
    if distribution.empty:
        st.info(f"No scores of this champion in the store yet. {sources.NO_SCORES_HINT}")
    else:
        st.bar_chart(distribution, x="score", y="leads", width="stretch")

st.subheader("Drift history")
runs = store.whole_table(engine, store.MONITORING, order_by="scored_at")
if runs.empty:
    st.info(f"No monitoring runs yet. {sources.NO_SCORES_HINT}")
else:
    latest = runs.iloc[-1]
    st.markdown(
        f"Latest run {pd.Timestamp(latest['scored_at']):%Y-%m-%d %H:%M}: **{latest['status']}** "
        f"(largest PSI {latest['max_psi']:.3f} on {latest['max_psi_feature']}, "
        f"{latest['leads']:,} leads)"
    )
    colours = alt.Scale(domain=list(STATUS_COLOURS), range=list(STATUS_COLOURS.values()))
    base = alt.Chart(runs).encode(x=alt.X("scored_at:T", title="scored at"))
    st.altair_chart(
        base.mark_line(color="#607d8b").encode(y=alt.Y("max_psi:Q", title="largest PSI"))
        + base.mark_circle(size=90).encode(
            y="max_psi:Q",
            color=alt.Color("status:N", scale=colours),
            tooltip=[
                "scored_at:T",
                "model_version",
                "leads",
                "status",
                "max_psi_feature",
                alt.Tooltip("max_psi", format=".3f"),
                alt.Tooltip("junk_share", format=".1%"),
            ],
        ),
        width="stretch",
    )
    st.dataframe(
        runs[
            [
                "scored_at",
                "model_version",
                "leads",
                "status",
                "max_psi",
                "max_psi_feature",
                "junk_share",
                "junk_share_training",
                "mean_probability",
            ]
        ].iloc[::-1],
        hide_index=True,
        width="stretch",
    )

st.subheader("Challenger")
challenger = sources.alias_version(found, "challenger")
if challenger is None:
    st.caption("No challenger: the champion is the only candidate.")
else:
    theirs = sources.run_metrics(found, challenger.run_id)
    compared = pd.DataFrame(
        [
            {"model": f"v{v}", "metric": label, "value": m.get(name)}
            for v, m in ((champion.version, metrics), (challenger.version, theirs))
            for name, label in HEADLINE.items()
        ]
    ).dropna()
    st.markdown(f"v{challenger.version}: {challenger.tags.get('promotion', 'no promotion note')}")
    st.altair_chart(
        alt.Chart(compared)
        .mark_bar()
        .encode(x="model:N", y="value:Q", color="model:N", column=alt.Column("metric:N"))
    )

performance = store.whole_table(engine, store.PERFORMANCE, order_by="week")
if not performance.empty:
    st.subheader("Realized performance (leads whose outcome is known)")
    performance["model"] = "v" + performance["model_version"] + " " + performance["role"]
    st.altair_chart(
        alt.Chart(performance)
        .mark_line(point=True)
        .encode(
            x=alt.X("week:T", title="scoring week"),
            y=alt.Y("realized_auc:Q", title="realized ROC AUC", scale=alt.Scale(zero=False)),
            color="model:N",
            tooltip=list(performance.columns.drop("model")),
        ),
        width="stretch",
    )
    st.dataframe(performance, hide_index=True, width="stretch")
