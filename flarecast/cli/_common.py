"""Helpers shared by the CLI modules: error translation and common options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from flarecast.errors import ConfigError, FlarecastError

__all__ = ["friendly_errors", "target_options"]


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a :class:`FlarecastError` into a one-line ``Error: ...`` and exit status 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FlarecastError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


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
