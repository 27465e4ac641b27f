"""Checks of a champion change made by hand; ``ChampionChangeDataset`` makes and audits it."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from codepro_leads.errors import UserFacingError
from codepro_leads.pipelines.training.promotion import below_quality_floor

logger = logging.getLogger(__name__)


class ChampionChangeRefused(UserFacingError, ValueError):
    """A promotion or rollback that must not happen; the message says why."""


def plan_promotion(
    versions: pd.DataFrame, params: dict[str, Any], quality_floor: dict[str, float]
) -> dict[str, Any]:
    """Champion -> ``params.model_version``, a version of a finished run above the quality floor."""
    reason = _reason(params, "promote")
    wanted = params.get("model_version")
    if wanted in (None, ""):
        raise ChampionChangeRefused(
            "promote: which version? kedro run --pipelines promote "
            "--params model_version=N,reason=..."
        )
    version = _version_row(versions, str(wanted))
    champion = _champion(versions)
    if champion == version["version"]:
        raise ChampionChangeRefused(f"promote: v{champion} is already the champion")
    if version["tags"].get("run_status") == "failed":
        raise ChampionChangeRefused(f"promote: v{version['version']} comes from a failed run")
    if version.get("run_status") != "FINISHED":  # a killed training leaves its run RUNNING
        status = version.get("run_status") or "deleted"
        raise ChampionChangeRefused(
            f"promote: v{version['version']} comes from a training run that did not finish "
            f"(MLflow run {version['run_id']}: {status})"
        )
    failed = below_quality_floor(version, quality_floor)
    if failed:
        raise ChampionChangeRefused(
            f"promote: v{version['version']} is below the quality floor: " + ", ".join(failed)
        )
    return _change("promote", version["version"], champion, reason)


def plan_rollback(
    versions: pd.DataFrame, history: pd.DataFrame, params: dict[str, Any]
) -> dict[str, Any]:
    """Champion -> the version the latest non-rollback change to it replaced (so repeated
    rollbacks walk further back)."""
    reason = _reason(params, "rollback")
    champion = _champion(versions)
    if champion is None:
        raise ChampionChangeRefused("rollback: there is no champion to roll back")
    if "state" in history.columns:  # a move recorded but never made is not a champion
        history = history[history["state"] != "undone"]
    made_champion = history[
        (history["alias"] == "champion")
        & (history["model_version"].astype(str) == champion)
        & (history["action"] != "rollback")
    ]
    if made_champion.empty or pd.isna(made_champion["previous_version"].iloc[-1]):
        raise ChampionChangeRefused(
            f"rollback: the alias history records no champion before v{champion}"
        )
    previous = str(made_champion["previous_version"].iloc[-1])
    _version_row(versions, previous)  # still registered
    return _change("rollback", previous, champion, reason)


def _change(action: str, version: str, champion: str | None, reason: str) -> dict[str, Any]:
    logger.info("%s: champion v%s -> v%s: %s", action.capitalize(), champion, version, reason)
    return {"version": version, "expected_champion": champion, "action": action, "reason": reason}


def _reason(params: dict[str, Any], command: str) -> str:
    reason = params.get("reason")
    if reason is None or not str(reason).strip():
        raise ChampionChangeRefused(
            f"{command}: a reason is required (--params reason=...), it goes in the audit trail"
        )
    return str(reason).strip()


def _version_row(versions: pd.DataFrame, version: str) -> dict[str, Any]:
    found = versions[versions["version"] == version] if len(versions) else versions
    if found.empty:
        known = ", ".join(versions["version"]) if len(versions) else "none"
        raise ChampionChangeRefused(f"no version {version} in the registry (versions: {known})")
    return found.iloc[0].to_dict()


def _champion(versions: pd.DataFrame) -> str | None:
    if versions.empty:
        return None
    holds = versions["aliases"].str.split(",").map(lambda aliases: "champion" in aliases)
    return str(versions.loc[holds, "version"].iloc[0]) if holds.any() else None
