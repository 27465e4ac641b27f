# Two commands set everything up on a fresh machine: `make run` and `make test`.
# The environment is built only from requirements.lock (an unpinned install
# resolves to pycaret 0.0.6); it is rebuilt whenever the lock or pyproject changes.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock
KEDRO := $(BIN)/kedro
RAW := data/01_raw/leadscoring.csv
OUTCOMES := data/01_raw/new_leads_outcomes.csv
# Pipelines exported as Airflow DAGs by `make dags`: the top-level keys of conf/base/airflow.yml
# but `default` (each needs its schedule there anyway). DAGS_DIR: where the DAG files go.
DAG_PIPELINES := $(shell sed -n 's/^\([a-z_]*\):.*/\1/p' conf/base/airflow.yml | grep -vx default | paste -sd, -)
DAGS_DIR := airflow_dags
# Where make stack keeps its servers' data, logs and workers (git-ignored).
STACK_ROOT ?= .stack

# Never wait for a telemetry consent prompt: CI has no stdin.
export DO_NOT_TRACK := 1
export KEDRO_DISABLE_TELEMETRY := 1
export KEDRO_LOGGING_CONFIG := $(CURDIR)/conf/logging.yml

.PHONY: install run demo-data test lint benchmark viz viz-build docs docs-serve serve mlflow-ui dags clean app \
  notebook stack stack-stop

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required (pycaret 3.3.2 refuses 3.12)"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	# The project's bytecode, as pip writes it for the libraries: where PYTHONDONTWRITEBYTECODE
	# is set (containers, CI) every run would compile the modules again (~0.3 s a training run).
	$(BIN)/python -m compileall -q src
	touch $@

# Demo leads (and their later outcomes) are generated once; delete data/01_raw/*.csv to
# rebuild them.
$(RAW) $(OUTCOMES) &: | $(STAMP)
	$(KEDRO) run --pipelines demo_data

demo-data: $(RAW) $(OUTCOMES)

# Each run ends with its summary; outcomes gives the realized performance of the scores, from
# the leads' later outcomes. The last line says where sales' export is (the catalog's
# scored_leads_crm_latest) and what to open next.
run: $(STAMP) $(RAW) $(OUTCOMES)
	$(KEDRO) run --pipelines data_processing
	$(KEDRO) run --pipelines training
	$(KEDRO) run --pipelines inference
	$(KEDRO) run --pipelines outcomes
	@echo "make run finished: the CRM import reads data/07_model_output/scored_leads_crm_latest.csv;" \
	  "make app opens the sales app, make mlflow-ui the runs and the model registry."

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks deploy
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks deploy
	$(BIN)/ruff format --check src tests benchmarks deploy

# Issue 24's figures, each with its target (defaults = the issue's sizes; medians of fresh
# processes). Slow: about 10 minutes on 2 cores.
benchmark: $(STAMP)
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_data_processing.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_inference.py
	$(BIN)/python benchmarks/bench_serving.py

# One Airflow DAG file per pipeline (settings: conf/base/airflow.yml). The files are committed;
# a test regenerates them and fails on any difference.
dags: $(STAMP)
	$(KEDRO) airflow create --pipelines $(DAG_PIPELINES) --group-by memory \
	  --jinja-file airflow/dag_template.j2 --target-dir $(DAGS_DIR)

# Lineage: kedro-viz's static site (viz-build) on http://127.0.0.1:4141, a pipeline per link:
# http://127.0.0.1:4141/?pid=training. Not `kedro viz run`: it asks PyPI for a newer kedro-viz
# and, offline, announces "Kedro-Viz None is here!" (12.5 compares the versions as text); the
# static site reports the installed version. viz-build writes the site into build/ (kedro-viz's
# fixed folder; git-ignored).
viz: viz-build
	$(BIN)/python -m http.server --directory build --bind 127.0.0.1 4141

viz-build: $(STAMP)
	rm -rf build
	$(KEDRO) viz build
	test -f build/api/main

# The documentation site: built with --strict into site/ (git-ignored), or served on
# http://127.0.0.1:8000 while editing.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8000

# The champion over HTTP on http://127.0.0.1:5001/invocations (raw CodePro rows as JSON):
# MLflow's scoring server behind request limits (codepro_leads/serving.py, --help).
serve: $(STAMP)
	MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db} \
	  $(BIN)/python -m codepro_leads.serving --host 127.0.0.1 --port 5001

# The sales app on http://127.0.0.1:$(APP_PORT) (make app APP_PORT=8502): the champion and the
# score store of this project's conf (MLFLOW_TRACKING_URI and LEAD_SCORES_DB_URL win); headless,
# no usage statistics (codepro_leads/app/__main__.py).
APP_PORT ?= 8501
app: $(STAMP)
	$(BIN)/python -m codepro_leads.app --port $(APP_PORT)

# JupyterLab on http://127.0.0.1:8888 (the link with its token is printed), on the project's
# kernel: `kedro jupyter lab` installs it with Kedro's IPython extension (catalog, context and
# pipelines defined). Jupyter refuses root (containers) without --allow-root.
notebook: $(STAMP)
	$(KEDRO) jupyter lab --no-browser --ip 127.0.0.1 --port 8888 --ServerApp.root_dir=notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

# MLflow UI on http://127.0.0.1:5000 (runs, metrics, plots, the model registry), light enough
# for a laptop: one web worker and no job consumers (MLflow's GenAI jobs; this project has none).
mlflow-ui: $(STAMP)
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(BIN)/mlflow server --workers 1 \
	  --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000

# The production-like stack on loopback (docs/deployment.md): PostgreSQL, Redis, SeaweedFS's S3,
# the MLflow server (artifacts in the bucket), Airflow 3 with the CeleryExecutor and two Celery
# workers, each in its own folder under .stack/ built from the wheel and the conf archive. It
# prints every URL and login (Debian's postgresql and redis-server are needed: .ci/run).
stack: $(STAMP)
	$(BIN)/python deploy/stack.py up --root $(STACK_ROOT)

# Stops every process of the stack, by process group, and removes .stack/.
stack-stop:
	$(BIN)/python deploy/stack.py down --root $(STACK_ROOT)

clean:
	rm -rf $(VENV) mlflow.db mlruns
