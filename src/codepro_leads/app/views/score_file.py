"""Score a file: a raw CodePro export in, every row scored or rejected with its reason."""

import time

import streamlit as st

from codepro_leads.app import MAX_UPLOAD_MB, charts, guards, scoring, tables
from codepro_leads.scoring.factor_texts import factors_in_words

PREVIEW_ROWS = 100

st.title("Score a file")
found = guards.project_or_stop()
champion = guards.champion_or_stop(found)
model = champion.model

st.markdown(
    f"Upload a CodePro lead export (CSV, **up to {MAX_UPLOAD_MB} MB**, about 500,000 "
    "leads). Each row needs its lead id (a `lead_id` column or the export's leading unnamed "
    "column); rows that break the data rules are listed with their reason, the others scored."
)
upload = st.file_uploader("CodePro export", type="csv", max_upload_size=MAX_UPLOAD_MB, key="upload")
if upload is None:
    st.stop()

# Scored once per uploaded file: a rerun of the page (a download, a resize) does not rescore.
if st.session_state.get("scored_file", (None,))[0] != upload.file_id:
    progress = st.progress(0.0)
    started = time.perf_counter()
    try:
        result = scoring.score_upload(model, upload.getvalue(), upload.name, progress.progress)
    except scoring.UnusableInput as error:
        progress.empty()
        st.error(str(error))
        st.stop()
    st.session_state["scored_file"] = (upload.file_id, result, time.perf_counter() - started)
_, result, elapsed = st.session_state["scored_file"]

scored, rejected = result.scored, result.rejected
st.success(
    f"{upload.name}: {len(result.answer):,} rows, {len(scored):,} scored, "
    f"{len(rejected):,} rejected, in {elapsed:.1f} s (model {champion.name} v{champion.version})."
)
counts = scoring.grade_counts(scored, list(model.scorer.grade_bands))
left, right = st.columns([2, 1])
left.altair_chart(charts.grade_bars(counts, "leads", "Leads", ",d"), width="stretch", height=260)
right.dataframe(counts, hide_index=True, width="stretch", column_config=tables.GRADE_COUNTS)
if len(rejected):
    st.subheader(f"Rejected rows ({len(rejected):,})")
    key = model.processing_params["key_column"]
    shown = rejected[[key, "rejected_reason"]].rename_axis("row").reset_index()
    shown["row"] += 1  # data rows counted from 1, below the header
    st.dataframe(shown, hide_index=True, width="stretch", column_config=tables.REJECTED)
st.download_button(
    "Download the scored file (CSV)",
    scoring.as_csv(result.answer),
    file_name=upload.name.removesuffix(".csv") + "_scored.csv",
    mime="text/csv",
    key="download",
    on_click="ignore",
)
more = " (the download has all)" if len(scored) > PREVIEW_ROWS else ""
st.markdown(f"**The first {min(len(scored), PREVIEW_ROWS):,} scored leads**{more}")
preview = scored.head(PREVIEW_ROWS)
preview = preview.assign(
    raises_score=factors_in_words(preview, "up"),
    lowers_score=factors_in_words(preview, "down"),
)
tables.show_leads(preview)
