"""Helpers shared by the CLI modules: error and warning display, common options."""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import click

from flarecast.errors import ConfigError, FlarecastError, FlarecastWarning

__all__ = [
    "friendly_errors",
    "data_warnings_to_stderr",
    "target_options",
    "scheduler_executor",
    "Terminated",
    "sigterm_as_interrupt",
]


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a :class:`FlarecastError` into a one-line ``Error: ...`` and exit status 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FlarecastError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a service manager stopping the run) raised as an interrupt."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """In the block, SIGTERM raises :class:`Terminated` in the main thread instead of ending the
    process where it stands, so every ``finally`` runs: a staged output folder or a temporary
    file is removed, and the old outputs stay as they were. A second SIGTERM is then ignored,
    so that the cleanup finishes. Nothing changes where a handler is already installed or
    outside the main thread (where Python cannot install one).
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def data_warnings_to_stderr() -> Iterator[None]:
    """Print flarecast's warnings from the block as ``Warning: ...`` lines on stderr, once it ends.

    Each one is shown every time (a file's skipped rows are news on every run),
    also when the block raises. Any other warning (a library's deprecation, a
    ResourceWarning from the garbage collector) is passed on, unchanged, to the
    filters in force: it is not about the user's data and is not printed as if it were.
    """
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FlarecastWarning)
            yield
    finally:
        for w in caught:
            if issubclass(w.category, FlarecastWarning):
                click.echo(f"Warning: {w.message}", err=True)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


@contextlib.contextmanager
def scheduler_executor(scheduler: str | None) -> Iterator[Any]:
    """The executor for a ``--scheduler`` value: None (work in this process) when it is None,
    else a Dask one (:func:`flarecast.scaleout.dask.dask_executor`), closed with its cluster."""
    if scheduler is None:
        yield None
        return
    from flarecast.scaleout.dask import dask_executor

    with dask_executor(scheduler) as executor:
        yield executor


def duration_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Refuse a duration option without a unit (``--horizon 24`` would be 24 ns); keep the text.

    The text is passed on unchanged, so what a run records is what the user wrote.
    """
    from flarecast.time import parse_duration

    if value is None:
        return None
    try:
        parse_duration(value, name=f"--{param.name.replace('_', '-')}")
    except ConfigError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
    return value


def _negatives_callback(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from flarecast.targets import parse_negatives  # lazily: keeps `flarecast --help` fast

    try:
        return parse_negatives(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


def _threshold_callback(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from flarecast.goes import parse_goes_class

    try:
        parse_goes_class(value)
    except FlarecastError as exc:
        raise click.BadParameter(
            f"must be a GOES class such as 'M1.0', 'M5.0' or 'X1.0'. Got {value!r}.",
            ctx=ctx,
            param=param,
        ) from exc
    return value


def target_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--negatives`` (-> ``negatives``: tuple of letters) and ``--positive-threshold``.

    The values feed :func:`flarecast.targets.make_targets`; letters and the
    class are validated here so a typo fails before any data are read. A
    threshold that makes a negative letter impossible (``M`` with ``M1.0``) is
    reported by ``make_targets`` itself.
    """
    func = click.option(
        "--positive-threshold",
        default="M1.0",
        show_default=True,
        callback=_threshold_callback,
        help="Smallest positive GOES class (compared as a flux).",
    )(func)
    return click.option(
        "--negatives",
        default="C",
        show_default=True,
        callback=_negatives_callback,
        help="Comma-separated letters whose rows below the threshold are negatives, "
        "e.g. 'C' or 'A,B,C,N' (N = no flare). Other rows are left out and counted.",
    )(func)
