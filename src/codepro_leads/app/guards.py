"""What pages need first (the champion, the score store), or a clear message and next step."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import streamlit as st

from codepro_leads.app import sources
from codepro_leads.datasets.model_registry import RegisteredModel
from codepro_leads.errors import first_line


def project_or_stop() -> sources.Sources:
    """The registry and store of the working directory's project; otherwise why not."""
    try:
        return sources.project_sources(str(Path.cwd()))
    except Exception as error:  # not in a project, unreadable or unresolvable configuration
        st.error(f"Cannot read the project's configuration: {first_line(error)}")
        st.stop()


def champion_or_stop(found: sources.Sources) -> RegisteredModel:
    """The loaded champion; otherwise a message naming the registry and how to get one."""
    try:
        version = sources.alias_version(found, "champion")
        if version is not None:
            return sources.load_version(found, str(version.version))
    except Exception as error:  # unreachable or locked registry, unloadable model files
        st.error(f"Cannot read the champion from {found.tracking_uri}: {first_line(error)}")
        st.stop()
    st.warning(f"No champion model in {found.tracking_uri} yet. {sources.NO_CHAMPION_HINT}")
    st.stop()


def store_or_stop(found: sources.Sources) -> sa.Engine:
    """The score store's connection pool, checked at each page load; otherwise why not."""
    try:
        engine = sources.store_engine(found.scores_url)
        with engine.connect() as conn:
            sa.inspect(conn).get_table_names()  # a corrupt file connects, then fails on read
            return engine
    except sa.exc.SQLAlchemyError as error:
        where = sa.engine.make_url(found.scores_url).render_as_string(hide_password=True)
        st.error(f"Cannot open the score store {where}: {first_line(error)}")
        st.stop()
