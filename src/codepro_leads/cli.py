"""Project CLI: Kedro's ``run`` ending a problem a user can act on in one line, and the
champion's audit trail: ``promote``, ``rollback`` and ``alias-history``."""

from __future__ import annotations

import errno
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.session import KedroSession

from codepro_leads.errors import Terminated, UserFacingError, first_line

_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES}


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and the errors behind it (Kedro wraps dataset and node errors)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        yield exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__


def _one_line(exc: BaseException) -> str | None:
    """The line to print instead of a traceback, if a user can act on the error: the project's
    own, a full or read-only disk, a failing database or MLflow store."""
    for error in _chain(exc):
        if isinstance(error, UserFacingError):
            return str(error)
    for error in _chain(exc):
        if isinstance(error, OSError) and error.errno in _DISK_ERRORS:
            where = f": {error.filename}" if error.filename else ""
            return f"{error.strerror}{where}"
        # By module name: the CLI imports neither SQLAlchemy nor MLflow until it must.
        if type(error).__module__.startswith("sqlalchemy") and hasattr(error, "orig"):
            return f"database error: {first_line(error.orig)}"
    for error in _chain(exc):
        text = str(error)
        # What MLflow raises once it gave up retrying a tracking server that does not answer.
        if text.startswith("API request to") and (
            "Max retries exceeded" in text or "Connection refused" in text
        ):
            import mlflow  # only on this path: the CLI stays light

            return f"cannot reach the MLflow tracking server at {mlflow.get_tracking_uri()}"
    for error in _chain(exc):
        if type(error).__name__ == "MlflowException":
            import mlflow

            return f"MLflow store {mlflow.get_tracking_uri()}: {first_line(error)}"
    return None


def _terminate(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    raise Terminated(f"stopped by {name}: files being written were removed")


@contextmanager
def _errors_in_one_line() -> Iterator[None]:
    """A problem a user can act on ends the command in one line; SIGTERM stops it as an error
    does (by default it ends the process where it stands)."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except Exception as exc:
        message = _one_line(exc)
        if message is None:
            raise
        raise click.ClickException(message) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.group(name="codepro_leads")
def cli() -> None:
    """CodePro lead scoring commands."""


# Kedro's own run, its errors in one line.
_run = _errors_in_one_line()(kedro_run.callback)
cli.add_command(
    click.Command(name="run", params=kedro_run.params, callback=_run, help=kedro_run.help)
)


def _run_pipeline(name: str, runtime_params: dict[str, Any], env: str | None) -> None:
    """``kedro run --pipelines <name>`` with these runtime parameters."""
    with (
        _errors_in_one_line(),
        KedroSession.create(env=env, runtime_params=runtime_params) as session,
    ):
        session.run(pipeline_names=[name])


_ENV = click.option("--env", "-e", default=None, help="Kedro configuration environment.")
_REASON = click.option("--reason", required=True, help="Why: recorded in the alias history.")


@cli.command(name="promote")
@click.argument("model_version")
@_REASON
@_ENV
def promote(model_version: str, reason: str, env: str | None) -> None:
    """Make MODEL_VERSION the champion if its test metrics pass the quality floor; who, why
    and when are recorded."""
    _run_pipeline("promote", {"model_version": model_version, "reason": reason}, env)


@cli.command(name="rollback")
@_REASON
@_ENV
def rollback(reason: str, env: str | None) -> None:
    """Give the champion back to the version it replaced, as the alias history records."""
    _run_pipeline("rollback", {"reason": reason}, env)


@cli.command(name="alias-history")
@_ENV
def alias_history(env: str | None) -> None:
    """Print every move of the champion and challenger aliases, oldest first: who, why, when."""
    with _errors_in_one_line(), KedroSession.create(env=env) as session:
        rows = session.load_context().catalog.load("alias_history")
    if rows.empty:
        click.echo("No alias changes recorded yet.")
        return
    shown = rows.drop(columns=["event_id"]).fillna({"previous_version": "-", "run_id": "-"})
    shown["changed_at"] = rows["changed_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    click.echo(shown.to_string(index=False))
