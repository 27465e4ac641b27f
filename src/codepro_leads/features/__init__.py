"""Lead preparation shared by the pipelines, the logged model and the datasets: pandas, NumPy and
pyarrow only (no Kedro, no MLflow), so the logged model carries it alone."""
