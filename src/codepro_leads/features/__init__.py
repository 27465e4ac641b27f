"""Lead preparation shared by the pipelines, the logged model and the datasets.

Plain pandas, NumPy and pyarrow: this package imports neither Kedro nor MLflow, so the logged
model carries it with nothing else of the project, and every consumer runs the same rules.
"""
