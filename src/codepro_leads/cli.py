"""Project CLI: Kedro's own ``run``, but a problem with its inputs ends in one clear line.

Kedro picks up ``cli`` from this module and lets it override its built-in commands.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run

from codepro_leads.errors import UserFacingError


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and the errors behind it (Kedro wraps dataset and node errors)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        yield exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__


def _one_line(exc: BaseException) -> str | None:
    """The line to print instead of a traceback, if the error is one a user can act on."""
    for error in _chain(exc):
        if isinstance(error, UserFacingError):
            return str(error)
    for error in _chain(exc):
        text = str(error)
        # MLflow retries a tracking server that does not answer, then raises this (a score
        # database that does not answer is another error, and keeps its own message).
        if text.startswith("API request to") and (
            "Max retries exceeded" in text or "Connection refused" in text
        ):
            import mlflow  # only on this error path: the CLI itself stays light

            return f"cannot reach the MLflow tracking server at {mlflow.get_tracking_uri()}"
    return None


def _run(**kwargs: Any) -> Any:
    try:
        return kedro_run.callback(**kwargs)
    except Exception as exc:
        message = _one_line(exc)
        if message is None:
            raise
        raise click.ClickException(message) from None


@click.group(name="codepro_leads")
def cli() -> None:
    """CodePro lead scoring commands."""


cli.add_command(
    click.Command(name="run", params=kedro_run.params, callback=_run, help=kedro_run.help)
)
