"""The sales team's Streamlit app (``make app``): score a lead or a file with the champion, the
leads to call from the score store, and how the model is doing.

``main.py`` is the script ``streamlit run`` starts; ``views/`` holds one script per page;
``sources.py`` finds the champion and the score store the way the pipelines do; ``store.py``
queries the store; ``scoring.py`` calls the champion; ``wording.py`` says factors in plain words.
"""
