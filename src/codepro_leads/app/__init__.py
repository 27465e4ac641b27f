"""The sales team's Streamlit app (``make app``): score a lead or a file with the champion, the
leads to call from the score store, and how the model is doing."""

# The largest upload, in MB: the server refuses more, the page says so.
MAX_UPLOAD_MB = 50
