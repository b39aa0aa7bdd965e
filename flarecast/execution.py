"""Executors: how independent pieces of work are run, handed in to the science code from outside.

Labelling (:func:`flarecast.labels.label_records`) and evaluation
(:func:`flarecast.evaluation.fits.run_protocol`, :func:`flarecast.evaluation.tune.tune_focal`)
split their work into independent tasks and give them to an *executor*. They never choose,
start or import a scheduler: the default is :class:`LocalExecutor` (each task runs in this
process, when its result is first asked for), and a Dask-backed executor
(:class:`flarecast.scaleout.dask.DaskExecutor`) is built by the command line from
``--scheduler``. Every task carries everything its result depends on (data and seed), so the
results are the same whichever executor runs it.

An executor is anything with

``workers`` : int
    How many tasks it runs at once (the labeller makes that many region partitions).
``share(value, to_all=False)``
    A handle for data a task reads (``to_all``: that every task reads, sent to every worker at
    once); pass the handle as an argument of ``submit``, and the task receives the value.
``submit(func, *args, priority=0, name="task")``
    Start ``func(*args)`` and return an object whose ``result()`` waits for and returns its value
    (or raises its exception). A higher ``priority`` starts earlier where the executor can choose.

This module imports nothing beyond the standard library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Executor", "Pending", "LocalExecutor", "local_executor"]


class Pending(Protocol):
    """The handle :meth:`Executor.submit` returns."""

    def result(self) -> Any: ...


class Executor(Protocol):
    """What labelling and evaluation need from whatever runs their tasks (see the module docstring)."""

    workers: int

    def share(self, value: Any, *, to_all: bool = False) -> Any: ...

    def submit(
        self, func: Callable[..., Any], *args: Any, priority: int = 0, name: str = "task"
    ) -> Pending: ...


class _Deferred:
    """A task of :class:`LocalExecutor`: run on the first ``result()``, its value kept after."""

    __slots__ = ("_func", "_args", "_value", "_error")

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...]):
        self._func: Callable[..., Any] | None = func
        self._args = args
        self._value: Any = None
        self._error: BaseException | None = None

    def result(self) -> Any:
        if self._func is not None:
            func, args = self._func, self._args
            self._func, self._args = None, ()  # the inputs may be large: drop them once used
            try:
                self._value = func(*args)
            except BaseException as exc:
                self._error = exc
                raise
        if self._error is not None:
            raise self._error
        return self._value


class LocalExecutor:
    """Run every task in this process, one after another, when its result is asked for.

    Nothing runs at :meth:`submit`: a caller may submit a whole stage ahead (as it would to a
    cluster) and still hold only the results it has collected, in the order it collects them.
    """

    workers = 1

    def share(self, value: Any, *, to_all: bool = False) -> Any:
        return value

    def submit(
        self, func: Callable[..., Any], *args: Any, priority: int = 0, name: str = "task"
    ) -> _Deferred:
        return _Deferred(func, args)


def local_executor(executor: Executor | None) -> Executor:
    """``executor``, or a :class:`LocalExecutor` when it is None."""
    return LocalExecutor() if executor is None else executor
