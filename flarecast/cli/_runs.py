"""Options and steps that ``reproduce``, ``tune`` and ``evaluate`` share.

The protocol from defaults, a TOML file and the command line (:func:`build_protocol`); the
data options; loading the data with its one-line description; the progress bar (stderr, only
on a terminal, off with ``--quiet``); and a clean exit on Ctrl-C (:func:`clean_interrupt`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from flarecast.cli._common import duration_callback, target_options
from flarecast.cli._options import data_dir_option, option_group, out_folder_option

__all__ = [
    "build_protocol",
    "parse_methods",
    "scheduler_option",
    "protocol_option",
    "quiet_option",
    "common_options",
    "load_targets",
    "command_line",
    "progress_bar",
    "clean_interrupt",
    "exit_interrupted",
]

quiet_option = click.option(
    "--quiet", is_flag=True, help="No progress bar (it is shown only when stderr is a terminal)."
)


def _read_config(path: str | None) -> dict[str, Any]:
    """Keys of a TOML file's ``[protocol]`` table, or of the whole file when it has none."""
    from flarecast.errors import ConfigError

    if path is None:
        return {}
    try:
        data = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    return dict(data.get("protocol", data))


def build_protocol(config: str | None, ctx: click.Context | None = None, **options: Any) -> Any:
    """Protocol from defaults < the ``--config`` file < options given on the command line.

    ``options`` holds the command's values; ``None`` means "not given". Options
    with a click default (``--negatives``, ``--positive-threshold``) count as
    given only when they did not come from that default.
    """
    from click.core import ParameterSource

    from flarecast import config as cfg
    from flarecast.evaluation.protocol import Protocol

    data = _read_config(config)
    source = str(config) if config else "command line"
    protocol = cfg.from_dict(Protocol, data, source=source)
    given = {}
    for key, value in options.items():
        if value is None:
            continue
        if ctx is not None and ctx.get_parameter_source(key) == ParameterSource.DEFAULT:
            continue
        given[key] = value
    try:
        return cfg.replace(protocol, **given)
    except (TypeError, ValueError) as exc:
        from flarecast.errors import ConfigError

        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(str(exc)) from exc


def parse_methods(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(m.strip() for m in value.split(",") if m.strip())


scheduler_option = click.option(
    "--scheduler",
    default=None,
    metavar="local|processes|tcp://HOST:PORT",
    help="Run the independent fits as Dask tasks (needs flarecast[dask]): threads here, one worker "
    "process per CPU here, or a running scheduler. Same results as without. [this process]",
)


def protocol_option(help: str) -> Any:
    """``--protocol FILE`` (-> ``protocol_file``): a frozen protocol file, such as
    protocols/comparison.toml (:mod:`flarecast.evaluation.frozen`)."""
    return click.option(
        "--protocol",
        "protocol_file",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help=help,
    )


# Options shared by ``reproduce`` and ``tune``: data, targets, folds, seeds, config, output.
common_options = option_group(
    click.option(
        "--dataset",
        default="demo",
        show_default=True,
        help="Registered data set name (see 'flarecast data list') or a canonical table file.",
    ),
    data_dir_option,
    click.option("--folds", type=int, default=None, help="Outer region-grouped folds [5]."),
    click.option(
        "--seeds", type=int, default=None, help="Seeds (ensemble members) per network fit [5]."
    ),
    click.option(
        "--threshold-metric",
        default=None,
        help="Threshold rule, chosen on inner validation: hss, tss or fixed:<p> [hss].",
    ),
    click.option(
        "--split",
        type=click.Choice(["kfold", "chrono"]),
        default=None,
        help="Outer split: region k-fold or chronological hold-out [kfold].",
    ),
    click.option("--cutoff", default=None, help="First test time for --split chrono [2015-01-01]."),
    click.option(
        "--gap",
        default=None,
        callback=duration_callback,
        help="Gap before the cutoff, >= the forecast horizon, with a unit [48h].",
    ),
    target_options,
    click.option(
        "--seed", type=int, default=None, help="Seed of folds, networks and bootstrap [0]."
    ),
    click.option(
        "--config",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="TOML file with a [protocol] table; command-line options override it.",
    ),
    out_folder_option,
    quiet_option,
)


def load_targets(dataset: str, data_dir: str | None, protocol: Any) -> tuple[Any, Any]:
    """The data set and its targets under ``protocol``'s class definition, described on stderr."""
    from flarecast.data.tables.read import load_dataset
    from flarecast.evaluation.report import SYNTHETIC_BANNER
    from flarecast.targets import make_targets

    data = load_dataset(dataset, data_dir=data_dir)
    targets = make_targets(data, protocol.negatives, protocol.positive_threshold)
    if data.synthetic:
        click.echo(SYNTHETIC_BANNER, err=True)
    click.echo(
        f"{data.name}: {len(targets.y)} rows ({int(targets.y.sum())} positive), "
        f"{len(set(targets.groups.tolist()))} regions; {targets.definition}",
        err=True,
    )
    return data, targets


def command_line() -> str:
    """The command as the user typed it, for run.json."""
    return " ".join(["flarecast", *sys.argv[1:]])


@contextlib.contextmanager
def progress_bar(
    total: int, what: str, *, folds: int, seeds: int, quiet: bool = False
) -> Iterator[Callable[[int, str], None]]:
    """A tqdm bar on stderr counting fits; yields the ``progress(fold, method)`` callback.

    Shown only when stderr is a terminal and ``quiet`` is off. After each fit it names the fit
    just finished: fold k/K, method, and the seeds a network fit trains together.
    """
    from tqdm import tqdm

    show = not quiet and sys.stderr.isatty()
    # A terminal that reports its size as 0 x 0 (some IDE consoles, script(1), a fresh pty) made
    # tqdm draw nothing; shutil falls back to $COLUMNS/$LINES or 80 x 24.
    size = shutil.get_terminal_size()
    with tqdm(
        total=total,
        desc=what,
        unit="fit",
        file=sys.stderr,
        disable=not show,
        ncols=size.columns,
        nrows=size.lines,
    ) as bar:

        def progress(fold: int, method: str) -> None:
            members = f" ({seeds} seeds)" if _neural(method) else ""
            bar.set_postfix_str(f"fold {fold + 1}/{folds}, {method}{members}", refresh=False)
            bar.update()

        yield progress


def _neural(method: str) -> bool:
    return method.split()[0] in ("ce", "weighted-ce", "focal")


def _interrupt(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (or :class:`~flarecast.cli._common.Terminated`) behind ``exc``, also
    one that surfaced as another error: Ctrl-C during ``import torch`` came out as
    "RuntimeError: Error calling __set_name__". None if there is none."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def clean_interrupt(out_option: str = "out") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Ctrl-C or SIGTERM ends the command with one message and exit status 130 or 143, and
    nothing half-written.

    The output folder is written as one unit (:func:`flarecast.evaluation.outputs.staged_output`),
    so an interrupted run leaves it as it was; the finished fits stay in ``OUT/.partial`` for
    ``--resume``.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except BaseException as exc:
                cause = _interrupt(exc)
                if cause is None:
                    raise
                out = kwargs.get(out_option)
                where = f"; {out} was left as it was" if out else ""
                partial = Path(str(out)) / ".partial" if out else None
                kept = ""
                if partial is not None and partial.is_dir() and any(partial.iterdir()):
                    kept = f"; the finished fits are kept in {partial} (rerun with --resume)"
                exit_interrupted(cause, f"{where}{kept}")

        return wrapper

    return decorate


def exit_interrupted(cause: KeyboardInterrupt, detail: str = "") -> NoReturn:
    """One line on stderr, then exit 130 (Ctrl-C) or 143 (SIGTERM) at once.

    The process ends with ``os._exit`` rather than through the interpreter's shutdown, with
    torch's and OpenMP's worker threads possibly mid-operation: that shutdown is where an
    interrupted run occasionally aborted (SIGABRT) without a word.
    """
    from flarecast.cli._common import Terminated

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C changes nothing
    terminated = isinstance(cause, Terminated)
    click.echo(f"\n{'Terminated (SIGTERM)' if terminated else 'Interrupted'}{detail}.", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(143 if terminated else 130)
