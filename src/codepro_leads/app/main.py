"""The app's entry point: ``streamlit run`` this file from the project (``make app``)."""

from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).parent / "views"

st.set_page_config(page_title="CodePro lead scoring", page_icon=":dart:", layout="wide")
st.navigation(
    [
        st.Page(VIEWS / "score_lead.py", title="Score a lead", icon=":material/person_search:"),
        st.Page(VIEWS / "score_file.py", title="Score a file", icon=":material/upload_file:"),
        st.Page(VIEWS / "leads_to_call.py", title="Leads to call", icon=":material/call:"),
        st.Page(
            VIEWS / "model_health.py", title="Model and monitoring", icon=":material/monitoring:"
        ),
    ]
).run()
