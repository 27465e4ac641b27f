"""Score a lead: CodePro's fields in, the champion's score, grade and reasons out."""

from datetime import date

import streamlit as st

from codepro_leads.app import guards, scoring, wording

st.title("Score a lead")
found = guards.project_or_stop()
champion = guards.champion_or_stop(found)
model = champion.model
params = model.processing_params
levels = scoring.known_levels(model)


def level_choice(column: str, label: str) -> str | None:
    """A level the model knows, or any text typed in (scored like an unknown level)."""
    options = levels.get(column, [])
    return st.selectbox(
        label, options, index=0 if options else None, accept_new_options=True, key=column
    )


with st.form("lead"):
    left, right = st.columns(2)
    with left:
        lead_id = st.text_input("Lead id", value="form-lead", key="lead_id")
        created = st.date_input("Created on", value=date.today(), key="created_date")
        city = level_choice(params["city_column"], "City")
        referred = st.checkbox("Referred by someone", key="referred_lead")
    with right:
        platform = level_choice("first_platform_c", "Platform")
        medium = level_choice("first_utm_medium_c", "Marketing medium")
        source = level_choice("first_utm_source_c", "Marketing source")
        dropped = st.number_input(
            "Leads dropped", min_value=0, value=1, step=1, key="total_leads_droppped"
        )
    st.caption("Clicks on the website, by page (most leads have none)")
    clicks = {}
    group_columns = st.columns(len(params["interaction_groups"]))
    for column, (group, names) in zip(
        group_columns, params["interaction_groups"].items(), strict=True
    ):
        with column, st.expander(wording.feature_words(group)):
            for name in names:
                clicks[name] = st.number_input(
                    name.replace("_", " "), min_value=0, value=0, step=1, key=name
                )
    submitted = st.form_submit_button("Score this lead", type="primary")

if not submitted:
    st.stop()

values = {
    params["key_column"]: lead_id.strip() or None,  # blank: missing, as in an export
    params["date_column"]: created.isoformat(),
    params["city_column"]: city,
    "first_platform_c": platform,
    "first_utm_medium_c": medium,
    "first_utm_source_c": source,
    "total_leads_droppped": int(dropped),
    "referred_lead": int(referred),
    **{name: int(count) for name, count in clicks.items()},
}
try:
    result = scoring.predict(model, scoring.form_record(model, values))
except scoring.UnusableInput as error:
    st.error(str(error))
    st.stop()

if len(result.rejected):
    st.error(f"This lead cannot be scored: {result.rejected['rejected_reason'].iloc[0]}")
    st.stop()

row = result.answer.iloc[0]
score, grade, probability = int(row["score"]), str(row["grade"]), float(row["probability"])
st.subheader(f"Lead {row['lead_id']}")
cells = st.columns(4)
cells[0].metric("Score", score)
cells[1].metric("Grade", grade)
cells[2].metric("Chance to complete the application", f"{probability:.1%}")
cells[3].metric("Junk", "yes" if row["is_junk"] else "no")
for column, direction, title in zip(
    st.columns(2), ("up", "down"), ("Raises the score", "Lowers the score"), strict=True
):
    factors = wording.factors_of_row(row, direction)
    lines = [f"- {wording.factor_in_words(label)} ({wording.strength(e)})" for label, e in factors]
    column.markdown("\n".join([f"**{title}**", *(lines or ["- nothing stands out"])]))
st.caption(  # the page's last element: once it shows, the whole answer is on screen
    f"Lead {row['lead_id']} scored by {champion.name} v{champion.version} "
    f"in {result.seconds * 1000:.1f} ms."
)
