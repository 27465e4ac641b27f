"""Project CLI: Kedro's own ``run``, but a fatal input-data problem ends in one clear line.

Kedro picks up ``cli`` from this module and lets it override its built-in commands.
"""

from __future__ import annotations

from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run

from codepro_leads.errors import LeadDataError


def _lead_data_error(exc: BaseException | None) -> LeadDataError | None:
    """The LeadDataError behind ``exc`` (Kedro wraps dataset and node errors), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, LeadDataError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _run(**kwargs: Any) -> Any:
    try:
        return kedro_run.callback(**kwargs)
    except Exception as exc:
        data_error = _lead_data_error(exc)
        if data_error is None:
            raise
        raise click.ClickException(str(data_error)) from None


@click.group(name="codepro_leads")
def cli() -> None:
    """CodePro lead scoring commands."""


cli.add_command(
    click.Command(name="run", params=kedro_run.params, callback=_run, help=kedro_run.help)
)
