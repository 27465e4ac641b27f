"""Project settings. kedro-mlflow registers its hooks through its plugin entry point."""

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
