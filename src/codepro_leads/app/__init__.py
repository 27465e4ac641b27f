"""The sales team's Streamlit app (``make app``): score a lead or a file with the champion, the
leads to call from the score store, and how the model is doing.

``__main__.py`` starts the server; ``main.py`` is the script it runs, ``views/`` one script per
page; ``sources.py`` finds the champion and the score store the way the pipelines do;
``guards.py`` turns their absence into a message; ``store.py`` queries the store;
``scoring.py`` calls the champion; ``wording.py`` says factors in plain words; ``tables.py``
and ``charts.py`` show tables and charts as people read them.
"""

# The largest upload, in MB: the server refuses a larger one (``server.maxUploadSize``), the
# page says so above the uploader.
MAX_UPLOAD_MB = 50
