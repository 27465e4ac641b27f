"""kedro-mlflow's ``kedro mlflow ...`` commands, imported only when one of them is asked for.

Kedro's CLI imports every plugin's command module before it parses the command line, and
kedro-mlflow's imports MLflow at the top (about a second, more than the rest of a
``kedro run --pipelines data_processing`` on a small file). Settings, which Kedro's CLI
imports just before it loads the plugins, call :func:`defer_kedro_mlflow_commands`: the
plugin's module name then resolves to a stand-in whose ``commands`` group lists ``mlflow`` and
imports the real module when that command is looked up (``kedro mlflow ui``, ``kedro --help``).
Any other use of the module (an attribute other than ``commands``) also gets the real one.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

import click

PLUGIN_MODULE = "kedro_mlflow.framework.cli.cli"


def _real_module() -> types.ModuleType:
    """kedro-mlflow's command module, imported in place of the stand-in."""
    module = sys.modules.get(PLUGIN_MODULE)
    if isinstance(module, _StandIn):
        del sys.modules[PLUGIN_MODULE]
        module = importlib.import_module(PLUGIN_MODULE)
    return module  # type: ignore[return-value]


class _DeferredCommands(click.Group):
    """Lists kedro-mlflow's ``mlflow`` group; the group itself is imported on first look-up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["mlflow"]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name != "mlflow":  # e.g. ``run``: asked of every group, never kedro-mlflow's
            return None
        return _real_module().commands.get_command(ctx, cmd_name)


class _StandIn(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # probes such as inspect's for ``__file__`` load nothing
            raise AttributeError(name)
        return getattr(_real_module(), name)


def defer_kedro_mlflow_commands() -> None:
    """Put the stand-in in place, unless kedro-mlflow's command module is imported already."""
    if PLUGIN_MODULE in sys.modules:
        return
    stand_in = _StandIn(PLUGIN_MODULE, __doc__)
    stand_in.commands = _DeferredCommands(name="Mlflow")  # type: ignore[attr-defined]
    sys.modules[PLUGIN_MODULE] = stand_in
