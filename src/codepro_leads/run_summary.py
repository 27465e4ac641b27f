"""The few lines a successful ``kedro run`` ends with: what ran, its figures, where the results
are and what to do next. ``RunSummaryHook`` logs them after every other hook (``trylast`` and
last in ``settings.HOOKS``); a failed run ends on its error instead.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass, field
from typing import Any

import mlflow
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from mlflow.exceptions import MlflowException

from codepro_leads.model_description import rounded

logger = logging.getLogger(__name__)

# Each pipeline's files to list: (what it is, catalog entry), when the run saved them.
FILES = {
    "data_processing": [
        ("Leads for training", "model_input_leads"),
        ("Rejected rows, each with its reason", "rejected_leads"),
        ("Report", "data_processing_report"),
    ],
    "training": [("Plots, model card and test predictions", "model_card")],
    "inference": [
        ("CRM export, latest (the CRM import reads this)", "scored_leads_crm_latest"),
        ("CRM export of this run", "scored_leads_crm"),
        ("Scores with every factor", "scored_leads"),
        ("Rejected new leads, each with its reason", "rejected_new_leads"),
        ("Report", "inference_report"),
    ],
    "outcomes": [
        ("Report", "outcomes_report"),
        ("Chart", "realized_performance_plot"),
        ("Rejected outcome rows, each with its reason", "rejected_outcomes"),
    ],
}
# Inference's files are saved as one unit, by the dataset named here.
WRITTEN_BY = dict.fromkeys(
    ("scored_leads_crm_latest", "scored_leads_crm", "scored_leads", "rejected_new_leads"),
    "inference_outputs",
)


@dataclass(frozen=True)
class RunFacts:
    """What a summary is made of."""

    pipeline: str
    saved: dict[str, Any] = field(default_factory=dict)  # the REPORTS the run saved, by name
    files: dict[str, str] = field(default_factory=dict)  # catalog entry -> its file of the run
    mlflow_run: str | None = None  # the URL of the run in the MLflow UI
    start_ui: str | None = "make mlflow-ui"  # how to start that UI; None: a server runs it
    model: dict[str, Any] | None = None  # the registered version: name, version, alias, url


def summary(facts: RunFacts) -> str:
    """The summary of a successful run, a few lines of plain text."""
    write, needs = WRITERS.get(facts.pipeline, (_other, None))
    if needs is not None and needs not in facts.saved:
        write = _other  # part of a pipeline (an Airflow task): its report was not saved
    headline, figures, next_step = write(facts)
    if facts.pipeline in FILES:
        where = [
            f"  {what}: {facts.files[n]}" for what, n in FILES[facts.pipeline] if n in facts.files
        ]
    else:
        where = [f"  {name}: {path}" for name, path in facts.files.items()]
    if facts.mlflow_run:
        first = f" (`{facts.start_ui}` first)" if facts.start_ui else ""
        where.append(f"  MLflow run{first}: {facts.mlflow_run}")
    if facts.model and facts.model.get("url"):
        where.append(f"  Model version: {facts.model['url']}")
    lines = [f"Summary: {headline}", *(f"  {line}" for line in figures)]
    if where:
        lines += ["Results:", *where]
    if next_step:
        lines.append(f"Next: {next_step}")
    return "\n".join(lines)


Part = tuple[str, list[str], str | None]


def _rows(report: dict[str, Any], kept: str) -> str:
    return (
        f"{report['rows_read']:,} rows read: {report['rows_out']:,} {kept}, "
        f"{report['rows_rejected']:,} rejected, "
        f"{report['duplicates_dropped']:,} duplicates dropped."
    )


def _data_processing(facts: RunFacts) -> Part:
    report = facts.saved["data_processing_report"]
    return (
        "data_processing prepared the leads for training.",
        [_rows(report, "ready for training")],
        "kedro run --pipelines training",
    )


def _training(facts: RunFacts) -> Part:
    card, model = facts.saved["model_card"], facts.model or {}
    auc = card["recency"]["test_auc"]  # the scorer's (recency-weighted or not)
    figure = f"Test AUC {auc:.4f}"
    baseline = (card.get("baseline") or {}).get("test_auc")
    if baseline is not None:
        figure += (
            f"; CodePro's recipe on the same test leads {baseline:.4f} (lift {auc - baseline:+.4f})"
        )
    figure += f"; trained on {card['training_data']['rows']:,} leads."
    name = f"{model.get('name')} v{model.get('version')}"
    decision = facts.saved.get("promotion_decision") or {}
    if decision.get("identical_to") is not None:
        held = ", ".join(f"@{a}" for a in decision["identical_aliases"]) or "no alias"
        headline = (
            f"training registered nothing: the data and parameters are identical to "
            f"v{decision['identical_to']} ({held})."
        )
        next_step = "train on new leads or with changed parameters to register a new version"
    elif model.get("alias") == "champion":
        headline = f"training registered {name}: it is the champion now."
        next_step = "kedro run --pipelines inference (scores new leads with it)"
    elif model.get("alias") == "challenger":
        headline = f"training registered {name}: the challenger, the champion stays."
        next_step = (
            "kedro run --pipelines inference scores with the champion and the challenger in "
            "the shadow"
        )
    else:
        headline = f"training registered {name} without an alias: the champion stays."
        next_step = "see why in the MLflow run; the champion keeps scoring"
    return headline, [figure], next_step


def _inference(facts: RunFacts) -> Part:
    report = facts.saved["inference_report"]
    figures = [_rows(report, "scored")]
    if report.get("shadow_model_version"):
        figures.append(
            f"Challenger v{report['shadow_model_version']} scored "
            f"{report['shadow_rows_stored']:,} of them in the shadow (not exported)."
        )
    headline = "inference scored the new leads."
    monitoring = facts.saved.get("monitoring_runs")
    if monitoring is not None and len(monitoring):
        row = monitoring.iloc[-1]
        headline = f"inference scored the new leads with the champion v{row['model_version']}."
        figures.append(
            f"Input drift: {row['status']} (largest PSI {row['max_psi']:.3f}, "
            f"{row['max_psi_feature']}; leads flagged junk {row['junk_share']:.1%})."
        )
    return (
        headline,
        figures,
        "import the latest CRM export; `make app` lists the leads to call; once their "
        "outcomes are known: kedro run --pipelines outcomes",
    )


def _outcomes(facts: RunFacts) -> Part:
    report = facts.saved["outcomes_report"]
    figures = [
        f"{report['leads_matched']:,} outcomes matched to stored scores "
        f"({report['leads_unmatched']:,} without a score, {report['rows_rejected']:,} rejected)."
    ]
    for row in report["performance"]:
        grades = ", ".join(f"{g} {rate:.1%}" for g, rate in row["grade_completion_rate"].items())
        figures.append(
            f"v{row['model_version']} ({row['role']}), week of {row['week'][:10]}: realized AUC "
            f"{rounded(row, 'realized_auc')} (test {rounded(row, 'test_auc')}), "
            f"{row['completion_rate']:.1%} completed; by grade {grades}: {row['status']}."
        )
    degraded = any(row["status"] == "degraded" for row in report["performance"])
    return (
        "outcomes measured the scores against what the leads did.",
        figures,
        "a model scores worse than on its test leads: retrain (kedro run --pipelines training)"
        if degraded
        else "`make app` shows how the model is doing over the weeks",
    )


def _champion_change(facts: RunFacts) -> Part:
    change = facts.saved["champion_change"]
    was = f" (it was v{change['expected_champion']})" if change["expected_champion"] else ""
    return (
        f"{facts.pipeline} made v{change['version']} the champion{was}.",
        [f"Reason: {change['reason']}"],
        "kedro run --pipelines inference scores with it",
    )


NEXT = {
    "demo_data": "kedro run --pipelines data_processing",
    "model_selection": "kedro run --pipelines training (it uses the tuned parameters)",
}


def _other(facts: RunFacts) -> Part:
    return f"{facts.pipeline} finished.", [], NEXT.get(facts.pipeline)


# Each pipeline's summary and the report it needs.
WRITERS = {
    "data_processing": (_data_processing, "data_processing_report"),
    "training": (_training, "model_card"),
    "inference": (_inference, "inference_report"),
    "outcomes": (_outcomes, "outcomes_report"),
    "promote": (_champion_change, "champion_change"),
    "rollback": (_champion_change, "champion_change"),
}
# The saved data summaries read their figures from.
REPORTS = {report for _, report in WRITERS.values()} | {"promotion_decision", "monitoring_runs"}


class RunSummaryHook:
    """Logs ``summary`` as the last thing a successful run prints."""

    def __init__(self) -> None:
        self._context: KedroContext | None = None
        self._ui: str | None = None  # the MLflow UI of a local store (`make mlflow-ui`)
        self._base: str | None = None  # the UI of this run's store
        self._saved: dict[str, Any] = {}
        self._written: list[str] = []  # every dataset the run saved, in order
        self._run: mlflow.entities.RunInfo | None = None
        self._client: mlflow.MlflowClient | None = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        self._context = context  # its `mlflow` config is set by the MLflow hook, maybe later

    # trylast: after kedro-mlflow's before_pipeline_run, which starts the MLflow run.
    @hook_impl(trylast=True)
    def before_pipeline_run(self) -> None:
        self._saved, self._written, self._run = {}, [], None
        active = mlflow.active_run()
        if active is not None:
            self._run = active.info
            ui = self._context.mlflow.ui
            self._ui = f"http://{ui.host}:{ui.port}"
            uri = mlflow.get_tracking_uri()
            self._base = uri.rstrip("/") if uri.startswith(("http://", "https://")) else self._ui
            self._client = mlflow.MlflowClient(uri, mlflow.get_registry_uri())

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        self._written.append(dataset_name)
        if dataset_name in REPORTS:
            self._saved[dataset_name] = data

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params: dict[str, Any], catalog: CatalogProtocol) -> None:
        pipeline = "+".join(run_params.get("pipeline_names") or ["__default__"])
        run = self._run
        try:
            facts = RunFacts(
                pipeline=pipeline,
                saved=self._saved,
                files=self._files(pipeline, run_params, catalog),
                mlflow_run=run
                and f"{self._base}/#/experiments/{run.experiment_id}/runs/{run.run_id}",
                start_ui="make mlflow-ui" if self._base == self._ui else None,
                model=run and self._registered(run.run_id),
            )
            text = summary(facts)
        except Exception as error:  # the run succeeded: a summary that fails must not fail it
            logger.warning("No run summary: %s: %s", type(error).__name__, error)
            return
        logger.info("%s", text)

    def _files(
        self, pipeline: str, run_params: dict[str, Any], catalog: CatalogProtocol
    ) -> dict[str, str]:
        """Each file of the run relative to the project, with the run's version if versioned."""
        config = catalog.config_resolver.config
        listed = [name for _, name in FILES.get(pipeline, [])] or self._written
        root = run_params["project_path"].rstrip("/") + "/"
        files = {}
        for name in listed:
            entry = config.get(name) or {}
            filepath = entry.get("filepath") or (entry.get("dataset") or {}).get("filepath")
            if WRITTEN_BY.get(name, name) not in self._written or filepath is None:
                continue
            if entry.get("versioned"):
                filepath = posixpath.join(
                    filepath, run_params["run_id"], posixpath.basename(filepath)
                )
            if name == "model_card":  # the run's folder: its plots are beside the card
                filepath = posixpath.dirname(filepath) + "/"
            files[name] = filepath.removeprefix(root)
        return files

    def _registered(self, run_id: str) -> dict[str, Any] | None:
        """The version the run registered and its alias after the promotion."""
        try:
            versions = self._client.search_model_versions(f"run_id='{run_id}'")
            if not versions:
                return None
            found = self._client.get_model_version(versions[0].name, versions[0].version)
        except MlflowException as error:
            logger.warning("No model version in the run summary: %s", error)
            return None
        return {
            "name": found.name,
            "version": found.version,
            "alias": found.aliases[0] if found.aliases else None,
            "url": f"{self._base}/#/models/{found.name}/versions/{found.version}",
        }
