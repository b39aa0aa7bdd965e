"""What every command does around its files: refuse outputs that would destroy inputs,
and say in one line what the operating system refused.
"""

from __future__ import annotations

import errno
import functools
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

__all__ = ["os_error_message", "check_output", "guard_outputs"]

# The options the commands share, by role. The lazy group wraps every command with
# :func:`guard_outputs`, so a command that writes ``--out`` is checked before its body
# runs, and a new command is covered by naming its options like the others. Every other
# click.Path option is an input too (``--config``, ``--protocol``, ``--skill``, ...).
OUTPUT_OPTIONS = ("--out",)
INPUT_OPTIONS = ("--dataset", "--sharp", "--catalogue", "--features", "--history")
MODEL_OPTIONS = ("--model", "--base-model", "--x-model")
DATA_DIR_OPTIONS = ("--data-dir", "--cache-dir")
# Commands whose output is a model folder, with their own rules for an existing one.
MODEL_WRITERS = ("train",)

_FULL = (errno.ENOSPC, errno.EDQUOT)

_HINTS = {
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "it exists and is not a folder",
    errno.EROFS: "the folder cannot be written",
    errno.ENOSPC: "free some space or choose another --out",
    errno.EDQUOT: "free some space or choose another --out",
    errno.EACCES: "check the permissions",
    errno.EPERM: "check the permissions",
}


# flarecast.io writes every file as ``.NAME.RANDOM.tmp`` beside NAME and renames it
# at the end; the user asked for NAME and knows nothing of the temporary name.
_TEMPORARY = re.compile(r"(^|/)\.([^/]+)\.[^./]+\.tmp$")


def os_error_message(exc: OSError) -> str:
    """One line naming the path(s) and the cause of an operating-system error.

    ``[Errno 30] Read-only file system: 'out/.t.csv.x1k2.tmp'`` becomes
    ``out/t.csv: Read-only file system (the folder cannot be written)``: the
    temporary name of :mod:`flarecast.io` is replaced by the file the user
    asked for. An error that names no path keeps the operating system's words.
    """
    cause = exc.strerror or str(exc) or type(exc).__name__
    hint = _HINTS.get(exc.errno or 0)
    if hint:
        cause = f"{cause} ({hint})"
    if exc.filename is None:
        return cause
    where = _TEMPORARY.sub(r"\1\2", os.fsdecode(exc.filename))
    if exc.filename2 is not None:
        where = f"{where} -> {os.fsdecode(exc.filename2)}"
    return f"{where}: {cause}"


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist: compare the resolved names
        return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: Path, folder: Path) -> bool:
    real, top = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    return real == top or top in real.parents


def check_output(
    out: str | Path,
    *,
    inputs: Iterable[str | Path | None] = (),
    models: Iterable[str | Path | None] = (),
    data_dir: str | Path | None = None,
    folder: bool = False,
    writes_models: bool = False,
    option: str = "--out",
) -> None:
    """Refuse an output path that would overwrite something the user needs.

    Refused, before anything is written: the output is one of the command's
    input files; it is one of the command's model folders or lies inside one;
    it is a file inside any model folder (a folder with ``model.json`` and its
    weights), or a folder output that is an existing model folder (except for
    a command that writes model folders); it is a file of a registered data set
    (or catalogue), or a folder holding one, in the data folder or the download
    cache. A new folder inside a model folder is allowed: that is where an X
    model goes (``MODEL/x``). Symbolic links and other names of the same
    file are followed, so ``./in.csv`` and a link to it are the same input.

    Parameters
    ----------
    out : path
        The file or folder the command is about to write.
    inputs : paths
        The files the command reads; ``None`` entries (options not given) are skipped.
    models : paths
        Model folders the command reads; nothing inside them may be written.
    data_dir : path, optional
        The command's ``--data-dir``; ``$FLARECAST_DATA_DIR`` and the cache are checked too.
    folder : bool, default False
        ``out`` is a folder the command fills (else a file).
    writes_models : bool, default False
        The command writes a model folder to ``out`` and has its own rules for an existing one.
    option : str, default "--out"
        The option named in the message.

    Raises
    ------
    click.BadParameter
        Naming the output, what it would destroy and what to do instead.
    """
    out = Path(out)
    for source in inputs:
        if source is not None and Path(source).is_file() and _same(out, Path(source)):
            raise click.BadParameter(
                f"{out} is an input of this command ({source}); writing it would destroy "
                "the input. Choose another path.",
                param_hint=option,
            )
    read = [Path(m) for m in models if m is not None and Path(m).is_dir()]
    above = [] if folder else _model_folders_above(out)
    if folder and not writes_models and _is_model_folder(out):
        read.append(out)
    for model in [*read, *above]:
        if _inside(out, model):
            what = "the model folder" if _same(out, model) else "inside the model folder"
            raise click.BadParameter(
                f"{out} is {what} {model}; writing there would destroy the model. "
                "Choose a path outside it.",
                param_hint=option,
            )
    for name, path in _registered_files(data_dir):
        if _same(out, path) or (out.is_dir() and _inside(path, out)):
            raise click.BadParameter(
                f"{out} is {'' if out.is_dir() else 'a file of '}the registered data set "
                f"{name!r} ({path}); registered data are read only. Choose another path.",
                param_hint=option,
            )


def guard_outputs(command: click.Command) -> click.Command:
    """Make ``command`` (and a group's subcommands) call :func:`check_output` before its body.

    Idempotent: a command already guarded is returned as it is.
    """
    if getattr(command, "_flarecast_outputs_guarded", False):
        return command
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            guard_outputs(sub)

    def names(options: tuple[str, ...]) -> list[str]:
        # A choice (train's ``--model mlp|sequence``) names no file.
        return [
            p.name
            for p in command.params
            if p.name and set(p.opts) & set(options) and not isinstance(p.type, click.Choice)
        ]

    outputs, models = names(OUTPUT_OPTIONS), names(MODEL_OPTIONS)
    inputs = names(INPUT_OPTIONS) + [
        p.name
        for p in command.params
        if p.name
        and isinstance(p.type, click.Path)
        and not set(p.opts) & {*OUTPUT_OPTIONS, *MODEL_OPTIONS, *DATA_DIR_OPTIONS}
    ]
    # An output option that cannot be a file (click.Path(dir_okay=False) is a file; a
    # plain text or a folder path is a folder) is filled as a folder.
    folders = {
        p.name
        for p in command.params
        if p.name in outputs and not (isinstance(p.type, click.Path) and not p.type.dir_okay)
    }
    data_dirs = names(("--data-dir",))
    callback = command.callback
    if callback is not None and outputs:

        @functools.wraps(callback)
        def checked(*args: Any, **kwargs: Any) -> Any:
            for name in outputs:
                if kwargs.get(name) is not None:
                    check_output(
                        kwargs[name],
                        inputs=[v for p in inputs for v in _values(kwargs.get(p))],
                        models=[kwargs.get(p) for p in models],
                        data_dir=next((kwargs[p] for p in data_dirs if kwargs.get(p)), None),
                        folder=name in folders,
                        writes_models=command.name in MODEL_WRITERS,
                    )
            try:
                return callback(*args, **kwargs)
            except OSError as exc:
                # A write to a full disk names no file: name the output the user gave.
                given = [kwargs[n] for n in outputs if kwargs.get(n) is not None]
                if exc.filename is None and exc.errno in _FULL and given:
                    raise OSError(exc.errno, exc.strerror, str(given[0])) from exc
                raise

        command.callback = checked
    command._flarecast_outputs_guarded = True  # type: ignore[attr-defined]
    return command


def _is_model_folder(path: Path) -> bool:
    """True for a folder holding a saved model (its sidecar and weights)."""
    from flarecast.training.sidecar import SIDECAR, WEIGHTS

    return (path / SIDECAR).is_file() and (path / WEIGHTS).is_file()


def _values(value: Any) -> list[Any]:
    """An option's paths as a list (``multiple=True`` gives tuples; a flag names no path)."""
    values = list(value) if isinstance(value, tuple | list) else [value]
    return [v for v in values if isinstance(v, str | os.PathLike)]


def _model_folders_above(out: Path) -> list[Path]:
    """Model folders above ``out``."""
    return [p for p in Path(os.path.realpath(out)).parents if _is_model_folder(p)]


def _registered_files(data_dir: str | Path | None) -> list[tuple[str, Path]]:
    """(name, path) of every registered data-set and catalogue file present on this machine."""
    from flarecast.data import registry
    from flarecast.data.catalogues.read import CATALOGUES

    roots = {registry.resolve_data_dir(data_dir), registry.resolve_data_dir(None)}
    roots.add(registry.resolve_cache_dir())
    relative = [(e.name, f.path) for e in registry.registry().values() for f in e.files]
    relative += [(name, p) for name, (_, paths, _) in CATALOGUES.items() for p in paths]
    return [
        (name, root / rel)
        for root in roots
        if root is not None
        for name, rel in relative
        if (root / rel).exists()
    ]
