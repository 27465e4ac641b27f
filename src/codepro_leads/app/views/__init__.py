"""The app's pages: scripts Streamlit runs (``main.py`` lists them), never imported."""
