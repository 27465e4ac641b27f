"""Project CLI: Kedro's own ``run``, but a problem with its inputs ends in one clear line.

Kedro picks up ``cli`` from this module and lets it override its built-in commands.
"""

from __future__ import annotations

from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run

from codepro_leads.errors import UserFacingError


def _user_facing_error(exc: BaseException | None) -> UserFacingError | None:
    """The UserFacingError behind ``exc`` (Kedro wraps dataset and node errors), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, UserFacingError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _unreachable_store(exc: BaseException) -> str | None:
    """One line for a tracking server that does not answer (MLflow retries, then raises a
    long chain of connection errors)."""
    text = str(exc)
    if "Max retries exceeded" not in text and "Connection refused" not in text:
        return None
    import mlflow  # only on this error path: the CLI itself stays light

    return f"cannot reach the MLflow tracking server at {mlflow.get_tracking_uri()}"


def _run(**kwargs: Any) -> Any:
    try:
        return kedro_run.callback(**kwargs)
    except Exception as exc:
        user_error = _user_facing_error(exc)
        message = str(user_error) if user_error is not None else _unreachable_store(exc)
        if message is None:
            raise
        raise click.ClickException(message) from None


@click.group(name="codepro_leads")
def cli() -> None:
    """CodePro lead scoring commands."""


cli.add_command(
    click.Command(name="run", params=kedro_run.params, callback=_run, help=kedro_run.help)
)
