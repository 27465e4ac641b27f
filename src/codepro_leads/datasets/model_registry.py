"""Datasets around the MLflow model registry (kedro-mlflow cannot set aliases), so no node
calls MLflow itself."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

import mlflow
import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from mlflow.entities import RunTag
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from packaging.requirements import InvalidRequirement, Requirement

from codepro_leads.datasets import alias_history as audit
from codepro_leads.errors import ModelNotFoundError, UserFacingError, first_line

logger = logging.getLogger(__name__)
T = TypeVar("T")


class AliasHistoryError(UserFacingError, RuntimeError):
    """The alias history cannot record a move: the alias does not move without its record."""


class ModelRegistryError(UserFacingError, RuntimeError):
    """The registry failed: unlike an absent model, never a reason to carry on without one."""


# A missing alias is INVALID_PARAMETER_VALUE, which also means a malformed request: hence the
# message check. Anything else (a locked SQLite file, an unreachable server) is a failure.
def _is_not_found(error: MlflowException) -> bool:
    return error.error_code == "RESOURCE_DOES_NOT_EXIST" or (
        error.error_code == "INVALID_PARAMETER_VALUE"
        and re.search(r"Registered model alias \S+ not found", error.message) is not None
    )


def _registry_error(client: MlflowClient, doing: str, error: BaseException) -> ModelRegistryError:
    return ModelRegistryError(
        f"model registry {client.tracking_uri}: {doing} failed: {first_line(error)}"
    )


def _unless_not_found(
    client: MlflowClient, doing: str, call: Callable[..., T], *args: Any
) -> T | None:
    """``call(*args)``, None when what it looks up does not exist; other errors stop the run."""
    try:
        return call(*args)
    except MlflowException as error:
        if _is_not_found(error):
            return None
        raise _registry_error(client, doing, error) from error


def version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version of ``name`` holding ``alias``; None when there is no such model or alias."""
    doing = f"looking up {name}@{alias}"
    return _unless_not_found(client, doing, client.get_model_version_by_alias, name, alias)


def _holder(client: MlflowClient, name: str, alias: str = "champion") -> str | None:
    found = version_by_alias(client, name, alias)
    return None if found is None else str(found.version)


@dataclass(frozen=True)
class RegisteredModel:
    """A loaded registry model and where it came from."""

    name: str
    version: str
    model: Any  # the unwrapped python model (LeadScoringModel)


class RegisteredModelDataset(AbstractDataset[None, "RegisteredModel | None"]):
    """Loads ``models:/<name>@<alias>``, or ``/<model_version>`` when one is given; read-only.

    An absent model stops the run with one line, or loads as None with ``optional: true`` (the
    first training run has no champion). ``load_args`` go to ``mlflow.pyfunc.load_model``;
    requirements the environment does not meet are logged unless ``suppress_warnings: true``.
    """

    def __init__(
        self,
        model_name: str,
        alias: str = "champion",
        model_version: str | int | None = None,
        optional: bool = False,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._model_name = model_name
        self._load_args = load_args or {}
        self._alias = alias
        self._version = None if model_version in (None, "") else str(model_version)
        self._optional = optional
        self.metadata = metadata

    def load(self) -> RegisteredModel | None:
        client, name = MlflowClient(), self._model_name
        if self._version is None:
            found, wanted = version_by_alias(client, name, self._alias), f"{self._alias} model"
        else:
            doing = f"looking up version {self._version} of {name}"
            found = _unless_not_found(client, doing, client.get_model_version, name, self._version)
            wanted = f"version {self._version} of model {name}"
        if found is None:
            if self._optional:
                return None
            raise ModelNotFoundError(
                f"no {wanted} in {client.tracking_uri}: run `kedro run --pipeline training` first"
            )
        uri = f"models:/{self._model_name}/{found.version}"
        logger.info("Loading %s (run %s)", uri, found.run_id)
        load_args = {"suppress_warnings": False, **self._load_args}
        try:
            local = mlflow.artifacts.download_artifacts(artifact_uri=uri)
            if not load_args["suppress_warnings"]:
                _warn_of_mismatches(uri, Path(local) / "requirements.txt")
            # MLflow's own check maps every installed distribution to its modules (seconds).
            load_args["suppress_warnings"] = True
            model = mlflow.pyfunc.load_model(local, **load_args).unwrap_python_model()
        except Exception as error:  # missing files, unreadable pickle...: unusable either way
            raise _registry_error(client, f"loading {uri}", error) from error
        return RegisteredModel(name=name, version=str(found.version), model=model)

    def save(self, data: None) -> None:
        raise DatasetError("RegisteredModelDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"model_name": self._model_name, "alias": self._alias, "version": self._version}


def _warn_of_mismatches(uri: str, requirements: Path) -> None:
    """Log the model's requirements the installed packages miss (it may score differently)."""
    mismatches = []
    lines = requirements.read_text().splitlines() if requirements.exists() else []
    for line in lines:
        try:
            wanted = Requirement(line)
            installed = version(wanted.name)
        except InvalidRequirement:  # a comment, an option or a path: nothing to compare
            continue
        except PackageNotFoundError:
            installed = None
        if installed is None or not wanted.specifier.contains(installed, prereleases=True):
            mismatches.append(f"{wanted} (installed: {installed or 'none'})")
    if mismatches:
        logger.warning("%s was logged with other packages: %s", uri, ", ".join(mismatches))


def _name(version: str | None) -> str:
    return "no champion" if version is None else f"v{version}"


def _gist(error: BaseException) -> str:
    while error.__cause__ is not None:  # Kedro wraps a dataset's error in a DatasetError
        error = error.__cause__
    return first_line(error)


class _AliasMoveDataset(AbstractDataset[dict[str, Any], None]):
    """Moves aliases of ``model_name``; write-only. With ``history_credentials`` each move is
    recorded in the alias history first (see ``alias_history``)."""

    def __init__(
        self,
        model_name: str,
        history_credentials: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._model_name = model_name
        self._history = history_credentials and audit.AliasHistoryDataset(history_credentials)
        self.metadata = metadata

    def _write(self, row: dict[str, Any], state: str) -> None:
        self._history.save(pd.DataFrame([{**row, "state": state}]))

    @contextmanager
    def _recorded(self, row: dict[str, Any]) -> Iterator[None]:
        """Record the block's alias move as pending, then done, or undone if the block raises."""
        if not self._history:
            yield
            return
        move = f"@{row['alias']} -> v{row['model_version']}"
        try:
            self._write(row, audit.PENDING)
        except Exception as error:
            raise AliasHistoryError(
                f"alias history: cannot record {self._model_name} {move} "
                f"({_gist(error)}): nothing changed"
            ) from error
        try:
            yield
        except BaseException:
            self._close(row, audit.UNDONE, move)
            raise
        self._close(row, audit.DONE, move)

    def _close(self, row: dict[str, Any], state: str, move: str) -> None:
        try:
            self._write(row, state)
        except Exception as error:
            logger.warning(
                "alias history: %s %s stays pending (%s): the next alias change settles it",
                self._model_name,
                move,
                _gist(error),
            )

    def _settle(self, client: MlflowClient) -> None:
        """Close the moves a crashed command left pending: done if the alias moved, else undone."""
        if not self._history:
            return
        try:
            history = self._history.load()
            mine = history["model_name"] == self._model_name
            for row in history[mine & (history["state"] == audit.PENDING)].to_dict("records"):
                moved = _holder(client, self._model_name, row["alias"]) == row["model_version"]
                state = audit.DONE if moved else audit.UNDONE
                self._write(row, state)
                logger.warning(
                    "alias history: an unfinished change of %(model_name)s @%(alias)s to "
                    "v%(model_version)s (%(action)s by %(changed_by)s at %(changed_at)s) is now "
                    "recorded %(state)s: the alias had %(not)smoved",
                    {**row, "state": state, "not": "" if moved else "not "},
                )
        except ModelRegistryError:
            raise
        except Exception as error:
            raise AliasHistoryError(
                f"alias history: cannot settle the pending changes "
                f"({_gist(error)}): nothing changed"
            ) from error

    def load(self) -> None:
        raise DatasetError(f"{type(self).__name__} is write-only")

    def _describe(self) -> dict[str, Any]:
        return {"model_name": self._model_name}


class ModelAliasDataset(_AliasMoveDataset):
    """A promotion decision (``{"alias", "reason", "champion_version", ...}``) for the version
    this pipeline run registered. Saving only keeps it; ``PromotionHook`` binds the dataset to
    the run (``begin``), then calls ``commit`` (move the alias) or ``fail``.
    """

    _SINGLE_PROCESS = True  # the pending decision must stay in the process that commits it
    _run_id: str | None = None  # the MLflow run of the pipeline run, and its stores' client
    _client: MlflowClient
    _pending: tuple[int | None, dict[str, Any]] | None = None  # None: nothing was registered

    def begin(self, run_id: str, tracking_uri: str, registry_uri: str) -> None:
        """Bind to the MLflow run of the pipeline run that is starting."""
        self._run_id, self._client = run_id, MlflowClient(tracking_uri, registry_uri)
        self._pending = None

    def _registered_versions(self) -> list[int]:
        found = self._client.search_model_versions(
            f"name='{self._model_name}' and run_id='{self._run_id}'"
        )
        return sorted(int(v.version) for v in found)

    def save(self, decision: dict[str, Any]) -> None:
        if self._run_id is None:
            raise DatasetError(
                f"no MLflow run to promote {self._model_name} from: are PromotionHook and "
                "kedro-mlflow tracking this pipeline?"
            )
        if decision.get("identical_to") is not None:  # registered nothing, by design
            self._pending = (None, dict(decision))
            return
        versions = self._registered_versions()
        if not versions:
            raise DatasetError(f"run {self._run_id} registered no {self._model_name!r} model")
        self._pending = (versions[-1], dict(decision))
        # Logged once, as applied, by commit: the run may yet fail, the champion change.
        logger.debug("%s version %d: pending %s", self._model_name, versions[-1], decision)

    def commit(self) -> dict[str, Any] | None:
        """Apply the pending decision, if any, and return it as applied. Replacing champion vX
        holds only if vX is still the champion, else this version becomes challenger (MLflow
        has no compare-and-set for aliases: two commits in the same instant both pass)."""
        if self._pending is None:
            return None
        (version, decision), self._pending = self._pending, None
        run_id, client = self._run_id, self._client
        if version is None:
            return self._record_identical(decision)
        self._settle(client)
        if decision["alias"] == "champion":
            now = _holder(client, self._model_name)
            if now != decision["champion_version"]:
                moved = f"{_name(decision['champion_version'])} -> {_name(now)}"
                decision = {
                    **decision,
                    "alias": "challenger",
                    "reason": f"champion changed during the run ({moved}): not compared",
                }
        comparison = {
            key: str(decision[key])
            for key in ("comparison_rows", "comparison_first_created", "comparison_last_created")
            if decision.get(key) is not None
        }
        alias, reason = decision["alias"], decision["reason"]  # no alias: below the floor
        run_tags = {"model_version": str(version), "promotion_alias": alias or "none"}
        run_tags |= {**comparison, "promotion_reason": reason}
        try:
            if alias is not None:
                previous = _holder(client, self._model_name, alias)
                row = audit.history_row(
                    self._model_name, alias, str(version), previous, "training", reason, run_id
                )
                with self._recorded(row):
                    client.set_registered_model_alias(self._model_name, alias, version)
            for key, value in {"promotion": reason, **comparison}.items():
                client.set_model_version_tag(self._model_name, version, key, value)
            client.log_batch(run_id, tags=[RunTag(k, v) for k, v in run_tags.items()])
            client.log_dict(run_id, {"model_version": version, **decision}, "promotion.json")
            if decision.get("training_key"):
                # Last: only a version whose whole run succeeded is found as identical.
                key = decision["training_key"]
                client.set_model_version_tag(self._model_name, version, "training_key", key)
        except MlflowException as error:
            raise _registry_error(client, f"promoting version {version}", error) from error
        change = "gets no alias" if alias is None else f"-> @{alias}"
        logger.info("Decision: %s v%d %s: %s", self._model_name, version, change, reason)
        return decision

    def _record_identical(self, decision: dict[str, Any]) -> dict[str, Any]:
        """Record the decision of a run that registered nothing (identical to a version)."""
        run_tags = {"promotion_alias": "none", "promotion_reason": decision["reason"]}
        try:
            self._client.log_batch(self._run_id, tags=[RunTag(k, v) for k, v in run_tags.items()])
            self._client.log_dict(self._run_id, decision, "promotion.json")
        except MlflowException as error:
            raise _registry_error(self._client, "recording the decision", error) from error
        logger.info("Decision: %s: %s", self._model_name, decision["reason"])
        return decision

    def fail(self, error: BaseException) -> None:
        """Drop the pending decision and tag the failed run and its versions as failed."""
        self._pending = None
        if self._run_id is None:
            return
        client = self._client
        reason = f"not promoted: the training run failed ({type(error).__name__})"
        try:
            for version in self._registered_versions():
                client.set_model_version_tag(self._model_name, version, "run_status", "failed")
                client.set_model_version_tag(self._model_name, version, "promotion", reason)
                logger.info("%s version %d: %s", self._model_name, version, reason)
            client.set_tag(self._run_id, "promotion_reason", reason)
        except MlflowException as registry_error:
            # The run's own error is the one to report; this one only costs the tags.
            logger.warning(
                "Could not tag the failed run's %s versions: %s",
                self._model_name,
                first_line(registry_error),
            )


class RegisteredVersionsDataset(AbstractDataset[None, pd.DataFrame]):
    """Every version of ``model_name``, oldest first: ``version``, ``run_id``, ``run_status``
    (None when the run is gone), ``aliases`` (comma-separated), ``tags`` and the run's
    ``test_*`` metrics. Read-only."""

    def __init__(self, model_name: str, metadata: dict[str, Any] | None = None) -> None:
        self._model_name = model_name
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        client = MlflowClient()
        try:
            found = client.search_model_versions(f"name='{self._model_name}'")
            # Search results carry no aliases: the registered model lists them.
            aliases: dict[str, list[str]] = {}
            if found:
                model = client.get_registered_model(self._model_name)
                for alias, version in (model.aliases or {}).items():
                    aliases.setdefault(str(version), []).append(alias)
            rows = []
            for version in sorted(found, key=lambda v: int(v.version)):
                run = version.run_id and _unless_not_found(
                    client, f"reading run {version.run_id}", client.get_run, version.run_id
                )
                metrics = run.data.metrics if run else {}
                rows.append(
                    {
                        "version": str(version.version),
                        "run_id": version.run_id,
                        "run_status": run.info.status if run else None,
                        "aliases": ",".join(sorted(aliases.get(str(version.version), []))),
                        "tags": dict(version.tags or {}),
                        **{k: v for k, v in metrics.items() if k.startswith("test_")},
                    }
                )
        except MlflowException as error:
            raise _registry_error(client, f"listing {self._model_name} versions", error) from error
        columns = ["version", "run_id", "run_status", "aliases", "tags"]
        return pd.DataFrame(rows, columns=None if rows else columns)

    def save(self, data: None) -> None:
        raise DatasetError("RegisteredVersionsDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"model_name": self._model_name}


class ChampionChangeDataset(_AliasMoveDataset):
    """A change of ``champion`` by hand: saving ``{"version", "expected_champion", "action",
    "reason"}`` moves the alias and tags the version, unless the champion is no longer
    ``expected_champion``."""

    def save(self, change: dict[str, Any]) -> None:
        client = MlflowClient()
        version, expected = str(change["version"]), change["expected_champion"]
        action, reason = change["action"], change["reason"]
        self._settle(client)
        now = _holder(client, self._model_name)
        if now != expected:
            raise ModelRegistryError(
                f"{self._model_name}: the champion changed while checking "
                f"({_name(expected)} -> {_name(now)}); nothing changed, run the command again"
            )
        row = audit.history_row(self._model_name, "champion", version, now, action, reason)
        tags = {
            "promotion": reason,
            "promotion_action": action,
            "promoted_by": row["changed_by"],
            "promoted_at": row["changed_at"].isoformat(timespec="seconds") + "Z",
            "previous_champion": now or "none",
        }
        try:
            with self._recorded(row):
                client.set_registered_model_alias(self._model_name, "champion", version)
            for key, value in tags.items():
                client.set_model_version_tag(self._model_name, version, key, value)
        except MlflowException as error:
            raise _registry_error(client, f"moving champion to v{version}", error) from error
        logger.info(
            "%(model_name)s: @champion %(was)s -> v%(model_version)s by %(changed_by)s "
            "(%(action)s: %(reason)s)",
            {**row, "was": _name(now)},
        )
