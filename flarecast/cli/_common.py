"""Helpers shared by the CLI modules: error translation and common options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from flarecast.errors import FlarecastError

__all__ = ["friendly_errors"]


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a :class:`FlarecastError` into a one-line ``Error: ...`` and exit status 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FlarecastError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper
