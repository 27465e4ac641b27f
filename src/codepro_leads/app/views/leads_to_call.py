"""Leads to call: the latest champion score of every stored lead, best first, filtered."""

import streamlit as st

from codepro_leads.app import guards, scoring, sources, store, wording

SHOWN_ROWS = 1000  # the table shows the best ones; the export has every matching lead
# The columns shown and exported, in order, with their headings.
COLUMNS = {
    "lead_id": "Lead",
    "score": "Score",
    "grade": "Grade",
    "probability": st.column_config.ProgressColumn(
        "Chance to complete", format="percent", min_value=0.0, max_value=1.0
    ),
    "is_junk": st.column_config.CheckboxColumn("Junk"),
    "raises_score": "Raises the score",
    "lowers_score": "Lowers the score",
    "created_date": st.column_config.DatetimeColumn("Created"),
    "model_version": "Model version",
    "scored_at": st.column_config.DatetimeColumn("Scored at"),
}

st.title("Leads to call")
found = guards.project_or_stop()
engine = guards.store_or_stop(found)
known = store.summary(engine)
if known.leads == 0:
    st.info(f"No scored leads in the score store yet. {sources.NO_SCORES_HINT}")
    st.stop()

left, middle, right = st.columns(3)
grades = left.multiselect("Grades", known.grades, default=known.grades, key="grades")
days = middle.date_input(
    "Created between",
    value=(known.first_created, known.last_created),
    min_value=known.first_created,
    max_value=known.last_created,
    key="created",
)
junk = right.radio("Junk leads", ["Leave out", "Only junk", "Both"], horizontal=True, key="junk")
first_day, last_day = (days[0], days[-1]) if days else (None, None)
wanted = store.LeadFilter(
    grades=tuple(grades),
    created_from=first_day,
    created_to=last_day,
    junk={"Leave out": False, "Only junk": True, "Both": None}[junk],
)
leads = store.leads_to_call(engine, wanted)
if leads.empty:
    st.warning("No lead matches these filters.")
    st.stop()

leads["raises_score"] = wording.joined_column(leads["up_factors"])
leads["lowers_score"] = wording.joined_column(leads["down_factors"])
table = leads[list(COLUMNS)]
more = f" (the first {SHOWN_ROWS:,} shown; the export has all)" if len(table) > SHOWN_ROWS else ""
st.markdown(f"**{len(table):,} leads** of {known.leads:,}, best score first{more}.")
st.download_button(
    "Export this list (CSV)",
    scoring.as_csv(table),
    file_name="leads_to_call.csv",
    mime="text/csv",
    key="export",
    on_click="ignore",
)
st.dataframe(table.head(SHOWN_ROWS), hide_index=True, width="stretch", column_config=COLUMNS)
