"""Leads to call: the latest champion score of every stored lead, best first, filtered."""

import pandas as pd
import streamlit as st

from codepro_leads.app import guards, scoring, sources, store, tables, wording

# The best ones, the whole list on the page (no scrolling frame); the export has every match.
SHOWN_ROWS = 100

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
table = tables.shown(leads, tables.LEADS)
more = f" (the first {SHOWN_ROWS:,} shown; the export has all)" if len(table) > SHOWN_ROWS else ""
versions = ", ".join(f"v{v}" for v in sorted(table["model_version"].unique()))
st.markdown(
    f"**{len(table):,} leads** of {known.leads:,}, best score first{more}. Scored by "
    f"{versions}, latest at {pd.Timestamp(table['scored_at'].max()):%Y-%m-%d %H:%M}."
)
st.download_button(
    "Export this list (CSV)",
    scoring.as_csv(table),
    file_name="leads_to_call.csv",
    mime="text/csv",
    key="export",
    on_click="ignore",
)
tables.show_leads(table.head(SHOWN_ROWS))
