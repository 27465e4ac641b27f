"""The few lines every ``kedro run`` of the project ends with: what ran, the figures that
matter, where the results are and what to do next.

``summary`` builds the text from what the run saved (its reports, as the catalog saved them)
and where (``RunFacts``); ``RunSummaryHook`` gathers those facts and logs the text once the
run has succeeded, after every other hook (``trylast`` and last in ``settings.HOOKS``). A
failed run ends on its error instead.
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

logger = logging.getLogger(__name__)

# What each pipeline's summary shows where to find: (what it is, catalog entry). Listed when
# the run saved it, or the dataset that writes it (WRITTEN_BY).
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
# Files written through another dataset: inference's, as one unit (BatchedRunDataset).
WRITTEN_BY = dict.fromkeys(
    ("scored_leads_crm_latest", "scored_leads_crm", "scored_leads", "rejected_new_leads"),
    "inference_outputs",
)
# The saved data a summary reads its figures from.
REPORTS = (
    "data_processing_report",
    "model_card",
    "promotion_decision",
    "inference_report",
    "monitoring_runs",
    "outcomes_report",
    "champion_change",
)


@dataclass(frozen=True)
class RunFacts:
    """What a summary is made of."""

    pipeline: str
    saved: dict[str, Any] = field(default_factory=dict)  # REPORTS the run saved, by name
    files: dict[str, str] = field(default_factory=dict)  # catalog entry -> its file of the run
    mlflow_run: str | None = None  # the URL of the run in the MLflow UI
    start_ui: str | None = "make mlflow-ui"  # how to start that UI; None: a server runs it
    # The version the run registered: name, version, alias (None: none), url.
    model: dict[str, Any] | None = None


def summary(facts: RunFacts) -> str:
    """The summary of a successful run, a few lines of plain text."""
    write, needs = WRITERS.get(facts.pipeline, (_other, None))
    if needs is not None and needs not in facts.saved:
        write = _other  # part of a pipeline (an Airflow task): its report was not saved
    headline, figures, next_step = write(facts)
    where = [
        f"  {what}: {facts.files[name]}"
        for what, name in FILES.get(facts.pipeline, [])
        if name in facts.files
    ]
    if facts.pipeline not in FILES:
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


def _count(value: int) -> str:
    return f"{value:,}"


Part = tuple[str, list[str], str | None]


def _rows(report: dict[str, Any], kept: str) -> str:
    return (
        f"{_count(report['rows_read'])} rows read: {_count(report['rows_out'])} {kept}, "
        f"{_count(report['rows_rejected'])} rejected, "
        f"{_count(report['duplicates_dropped'])} duplicates dropped"
    )


def _data_processing(facts: RunFacts) -> Part:
    report = facts.saved["data_processing_report"]
    return (
        "data_processing prepared the leads for training.",
        [_rows(report, "ready for training") + "."],
        "kedro run --pipelines training",
    )


def _training(facts: RunFacts) -> Part:
    card, model = facts.saved["model_card"], facts.model or {}
    auc = card["recency"]["test_auc"]  # the scorer's (recency-weighted or not)
    figures = [f"Test AUC {auc:.4f}"]
    baseline = (card.get("baseline") or {}).get("test_auc")
    if baseline is not None:
        figures[0] += (
            f"; CodePro's recipe on the same test leads {baseline:.4f} (lift {auc - baseline:+.4f})"
        )
    figures[0] += f"; trained on {_count(card['training_data']['rows'])} leads."
    name = f"{model.get('name')} v{model.get('version')}"
    alias = model.get("alias")
    identical = (facts.saved.get("promotion_decision") or {}).get("identical_to")
    if identical is not None:
        aliases = facts.saved["promotion_decision"]["identical_aliases"]
        held = ", ".join(f"@{a}" for a in aliases) or "no alias"
        headline = (
            f"training registered nothing: the data and parameters are identical to "
            f"v{identical} ({held})."
        )
        next_step = "train on new leads or with changed parameters to register a new version"
    elif alias == "champion":
        headline = f"training registered {name}: it is the champion now."
        next_step = "kedro run --pipelines inference (scores new leads with it)"
    elif alias == "challenger":
        headline = f"training registered {name}: the challenger, the champion stays."
        next_step = (
            "kedro run --pipelines inference scores with the champion and the challenger in "
            "the shadow"
        )
    else:
        headline = f"training registered {name} without an alias: the champion stays."
        next_step = "see why in the MLflow run; the champion keeps scoring"
    return headline, figures, next_step


def _inference(facts: RunFacts) -> Part:
    report = facts.saved["inference_report"]
    figures = [_rows(report, "scored") + "."]
    if report.get("shadow_model_version"):
        figures.append(
            f"Challenger v{report['shadow_model_version']} scored "
            f"{_count(report['shadow_rows_stored'])} of them in the shadow (not exported)."
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
        f"{_count(report['leads_matched'])} outcomes matched to stored scores "
        f"({_count(report['leads_unmatched'])} without a score, "
        f"{_count(report['rows_rejected'])} rejected)."
    ]
    for row in report["performance"]:
        grades = ", ".join(f"{g} {rate:.1%}" for g, rate in row["grade_completion_rate"].items())
        figures.append(
            f"v{row['model_version']} ({row['role']}), week of {row['week'][:10]}: "
            f"realized AUC {_number(row['realized_auc'])} (test {_number(row['test_auc'])}), "
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


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _champion_change(facts: RunFacts) -> Part:
    change = facts.saved["champion_change"]
    was = change["expected_champion"]
    return (
        f"{facts.pipeline} made v{change['version']} the champion"
        + (f" (it was v{was})." if was else "."),
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


class RunSummaryHook:
    """Logs ``summary`` as the last thing a successful run prints (see the module)."""

    def __init__(self) -> None:
        self._ui: str | None = None  # the MLflow UI of a local store (`make mlflow-ui`)
        self._base: str | None = None  # the UI of this run's store
        self._saved: dict[str, Any] = {}
        self._written: list[str] = []  # every dataset the run saved, in order
        self._run: tuple[str, str] | None = None  # MLflow experiment and run ids
        self._client: mlflow.MlflowClient | None = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        ui = context.config_loader["mlflow"].get("ui") or {}
        self._ui = f"http://{ui.get('host', '127.0.0.1')}:{ui.get('port', '5000')}"

    # trylast: after kedro-mlflow's before_pipeline_run, which starts the MLflow run.
    @hook_impl(trylast=True)
    def before_pipeline_run(self) -> None:
        self._saved, self._written, self._run, self._client = {}, [], None, None
        active = mlflow.active_run()
        if active is not None:
            self._run = (active.info.experiment_id, active.info.run_id)
            uri = mlflow.get_tracking_uri()
            self._base = uri.rstrip("/") if uri.startswith(("http://", "https://")) else self._ui
            self._client = mlflow.MlflowClient(mlflow.get_tracking_uri(), mlflow.get_registry_uri())

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        self._written.append(dataset_name)
        if dataset_name in REPORTS:
            self._saved[dataset_name] = data

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params: dict[str, Any], catalog: CatalogProtocol) -> None:
        pipeline = "+".join(run_params.get("pipeline_names") or ["__default__"])
        try:
            facts = RunFacts(
                pipeline=pipeline,
                saved=self._saved,
                files=self._files(pipeline, run_params, catalog),
                mlflow_run=self._run
                and f"{self._base}/#/experiments/{self._run[0]}/runs/{self._run[1]}",
                start_ui="make mlflow-ui" if self._base == self._ui else None,
                model=self._registered(),
            )
            text = summary(facts)
        except Exception as error:  # the run succeeded: a summary that fails must not fail it
            logger.warning("No run summary: %s: %s", type(error).__name__, error)
            return
        logger.info("%s", text)

    def _files(
        self, pipeline: str, run_params: dict[str, Any], catalog: CatalogProtocol
    ) -> dict[str, str]:
        """Where each file of the run is, relative to the project: the catalog's resolved
        configuration, with this run's version (the session id) for versioned entries."""
        config = catalog.config_resolver.config
        listed = [name for _, name in FILES.get(pipeline, [])] or self._written
        names = [name for name in listed if WRITTEN_BY.get(name, name) in self._written]
        root = run_params["project_path"].rstrip("/") + "/"
        files = {}
        for name in names:
            entry = config.get(name) or {}
            filepath = entry.get("filepath") or (entry.get("dataset") or {}).get("filepath")
            if filepath is None:
                continue
            if entry.get("versioned"):
                filepath = posixpath.join(
                    filepath, run_params["run_id"], posixpath.basename(filepath)
                )
            if name == "model_card":  # the run's folder: its plots are beside the card
                filepath = posixpath.dirname(filepath) + "/"
            files[name] = filepath.removeprefix(root)
        return files

    def _registered(self) -> dict[str, Any] | None:
        """The version this run registered and its alias now (after the promotion moved it)."""
        if self._client is None or self._run is None:
            return None
        try:
            versions = self._client.search_model_versions(f"run_id='{self._run[1]}'")
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
