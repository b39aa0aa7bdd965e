"""The ``flarecast`` command line: a thin click group, the only place that prints.

Subcommands live in their own modules and are imported only when run, so
``flarecast --help`` answers without importing torch or matplotlib. Whatever
the operating system refuses in any command (a read-only or full disk, an
unreadable file, no usable temporary folder) and running out of memory end
here as one ``Error:`` line with a non-zero exit status, never a traceback.
Every command's ``--out`` is checked before the command runs: it may not
overwrite an input, a model folder or a registered data file
(:func:`flarecast.cli._outputs.guard_outputs`).
"""

from __future__ import annotations

import errno
import importlib

import click

__all__ = ["main"]

# name -> (module, attribute, one-line help shown by ``flarecast --help``)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "data": ("flarecast.cli.data", "data", "List, describe and fetch data sets."),
    "train": ("flarecast.cli.train", "train", "Train a flare network and save a model folder."),
    "predict": ("flarecast.cli.predict", "predict", "Score a table with a saved model."),
    "reproduce": (
        "flarecast.cli.reproduce",
        "reproduce",
        "Focal vs cross-entropy comparison table.",
    ),
    "benchmark": (
        "flarecast.cli.benchmark",
        "benchmark",
        "The frozen comparison on every data set.",
    ),
    "tune": (
        "flarecast.cli.tune",
        "tune",
        "Search focal-loss alpha, then gamma, on validation.",
    ),
    "evaluate": ("flarecast.cli.evaluate", "evaluate", "Score a saved model on a labelled table."),
    "label": ("flarecast.cli.label", "label", "Label SHARP records from a flare catalogue."),
    "retrain": (
        "flarecast.cli.retrain",
        "retrain",
        "Relabel, retrain and compare with a base model.",
    ),
    "backtest": (
        "flarecast.cli.backtest",
        "backtest",
        "Time-ordered backtest against McIntosh-Poisson, persistence, climatology.",
    ),
    "forecast": (
        "flarecast.cli.forecast",
        "forecast",
        "Daily per-region and full-disk flare probabilities.",
    ),
    "reference-rates": (
        "flarecast.cli.forecast",
        "reference_rates",
        "Fit the McIntosh-Poisson rates the daily report shows.",
    ),
    "verify": (
        "flarecast.cli.verify",
        "verify",
        "Score the published daily reports against the flares that happened.",
    ),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in _COMMANDS if importlib.util.find_spec(_COMMANDS[n][0]) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        module, attr, _ = _COMMANDS[cmd_name]
        if importlib.util.find_spec(module) is None:
            return None
        from flarecast.cli._outputs import guard_outputs

        return guard_outputs(getattr(importlib.import_module(module), attr))

    def invoke(self, ctx: click.Context) -> object:
        from flarecast.cli._common import (
            Terminated,
            data_warnings_to_stderr,
            sigterm_as_interrupt,
        )

        try:
            # Every command shows flarecast's warnings as one 'Warning: ...' line each; SIGTERM
            # unwinds it like Ctrl-C, so that no staged folder or temporary file is left.
            with sigterm_as_interrupt(), data_warnings_to_stderr():
                return super().invoke(ctx)
        except Terminated:
            from flarecast.cli._runs import exit_interrupted

            exit_interrupted(Terminated())
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # click's main() already handles a closed pipe
                raise
            from flarecast.cli._outputs import os_error_message

            raise click.ClickException(os_error_message(exc)) from exc
        except MemoryError as exc:
            detail = f": {exc}" if str(exc) else ""
            raise click.ClickException(
                f"out of memory{detail}. Use a smaller data set or smaller settings "
                "(--n-boot, --seeds), or a machine with more memory."
            ) from exc

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_LazyGroup)
@click.version_option(package_name="flarecast")
def main() -> None:
    """flarecast: solar-flare forecasting from SHARP active-region features."""
