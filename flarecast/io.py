"""Atomic file output and checksums: no reader ever sees a half-written file.

Also the two primitives for folders written by several processes: an
exclusive lock on a folder (:func:`folder_lock`) and an atomic swap of two
folders (:func:`exchange_paths`), and what the writers of output folders build
on them (:func:`staged_folder`): a folder assembled aside and swapped in as one unit.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import hashlib
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "atomic_path",
    "atomic_open",
    "write_json",
    "sha256_file",
    "folder_lock",
    "exchange_paths",
    "staged_folder",
    "safetensors_json",
    "require_regular_file",
]


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    The rename is atomic on POSIX file systems, so readers see either the old
    or the new complete file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; give the file the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except OSError as exc:
        # A write to a full disk names no file; the message should name the one asked for.
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """``open`` for writing through :func:`atomic_path`."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_open(path, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=False, default=str)
        fh.write("\n")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def folder_lock(
    folder: str | Path, *, timeout: float = 120.0, what: str = "another flarecast run"
) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``folder`` itself for the block (no lock file is left behind).

    The lock belongs to the open descriptor, so the kernel releases it when the
    block ends or the process dies, even by SIGKILL: a dead writer never blocks
    the next one. Where ``fcntl`` does not exist (Windows) the block runs unlocked.

    Parameters
    ----------
    folder : path
        An existing folder.
    timeout : float, default 120
        Seconds to wait for another holder before giving up.
    what : str
        Who else may hold it, for the error message.

    Raises
    ------
    FlarecastError
        If the lock is still held by another process after ``timeout`` seconds.
    """
    from flarecast.errors import FlarecastError

    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise FlarecastError(
                        f"{folder} has been locked by {what} for more than {timeout:g} s; "
                        "is a run stuck?"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)


@functools.cache
def _renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc < 2.28 or another libc
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


def exchange_paths(a: str | Path, b: str | Path) -> bool:
    """Swap two existing paths (folders or files) in one atomic step.

    Linux ``renameat2(..., RENAME_EXCHANGE)``: at every instant both names
    exist, one holding the old and the other the new content, whatever
    happens to the process. Python has no binding for it, hence ctypes.

    Returns
    -------
    bool
        False where the system or file system does not offer the exchange
        (not Linux, old glibc, or EINVAL from the file system); the caller
        then falls back to renames.
    """
    func = _renameat2()
    if func is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if func(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


@contextlib.contextmanager
def staged_folder(
    out: str | Path,
    *,
    staging: str = ".{name}.staging-{id}",
    parked: str = ".{name}.old-{id}",
    lock: str | None = "another flarecast run",
    lock_timeout: float = 600.0,
    check: Callable[[Path], object] | None = None,
    keep: Callable[[str], bool] | None = None,
) -> Iterator[Path]:
    """Yield an empty hidden folder beside ``out``; when the block succeeds, it becomes ``out``.

    The swap is one :func:`exchange_paths` where the system offers it, else two renames (the
    second undone if it fails), with SIGINT and SIGTERM held back until it is done. However the
    block ends, the staging folder and the replaced folder are deleted: after an exception
    ``out`` is exactly as it was.

    Parameters
    ----------
    out : path
        The folder to write; its parent is created if missing.
    staging, parked : str
        Names of the staging folder and of the replaced folder until it is deleted, as
        ``str.format`` patterns of ``name`` (``out``'s) and ``id`` (random).
    lock : str or None, default "another flarecast run"
        Who else may write beside ``out``: the swap holds :func:`folder_lock` on ``out``'s parent
        (for up to ``lock_timeout`` seconds) naming it. None: the caller holds that lock already.
    check : callable, optional
        Called with ``out`` under the lock right before the swap; it refuses the swap by raising.
    keep : callable, optional
        Entries of the old ``out`` whose name it accepts are moved into the new folder (unless
        that has one of the same name); if the swap then fails, they go back.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = out.parent / staging.format(name=out.name, id=uuid.uuid4().hex[:8])
    staged.mkdir()
    old = None
    try:
        yield staged
        with (
            folder_lock(out.parent, timeout=lock_timeout, what=lock)
            if lock is not None
            else contextlib.nullcontext()
        ):
            if check is not None:
                check(out)
            with _signals_held():
                old = _swap(staged, out, parked, keep)
    finally:
        for leftover in (staged, old):
            if leftover is not None and leftover.exists() and leftover != out:
                shutil.rmtree(leftover, ignore_errors=True)


def _swap(staged: Path, out: Path, parked: str, keep: Callable[[str], bool] | None) -> Path | None:
    """Put ``staged`` in place of ``out``, first moving the entries ``keep`` accepts into it.

    Returns the folder now holding the old ``out`` (to delete), or None. If a step fails, the
    moved entries go back to ``out`` first: the caller deletes ``staged`` after an error, and it
    must never hold a user's files then.
    """
    if not out.exists():
        os.rename(staged, out)
        return None
    carried: list[str] = []
    try:
        for entry in out.iterdir() if keep is not None else ():
            if keep(entry.name) and not (staged / entry.name).exists():
                os.rename(entry, staged / entry.name)
                carried.append(entry.name)
        if exchange_paths(staged, out):
            return staged  # it now holds the old folder
        old = out.parent / parked.format(name=out.name, id=uuid.uuid4().hex[:8])
        os.rename(out, old)
        try:
            os.rename(staged, out)
        except BaseException:
            os.rename(old, out)
            raise
        return old
    except BaseException:
        for name in carried:
            if (staged / name).exists() and not (out / name).exists():
                os.rename(staged / name, out / name)
        raise


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the few renames of a swap (delivered right after).

    A Ctrl-C between two renames would otherwise leave the old folder, or a user's carried
    files, in a folder that the cleanup then deletes.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def safetensors_json(blob: bytes, key: str) -> Any:
    """The JSON value stored under ``key`` in the metadata of the safetensors file ``blob``.

    The header is the JSON after the 8-byte little-endian header length; its
    ``__metadata__`` maps keys to strings. Raises ``KeyError``, ``TypeError``
    or ``ValueError`` (``json.JSONDecodeError``) when they are absent or not JSON.
    """
    header = json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")])
    return json.loads(header["__metadata__"][key])


def require_regular_file(
    path: str | Path, *, what: str = "input file", error: type | None = None
) -> Path:
    """``path`` if it names a regular file (links followed); else raise before anything opens it.

    Opening a FIFO blocks until something writes to it, and a device or a
    folder is never a table: each is refused with one clear error instead.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file is for, named in the message ("catalogue", "config file").
    error : type, optional
        The :class:`~flarecast.errors.FlarecastError` subclass to raise; default
        :class:`~flarecast.errors.DataError`.
    """
    from flarecast.errors import DataError

    error = error or DataError
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError as exc:
        raise error(f"{path}: the {what} does not exist.") from exc
    except OSError as exc:
        raise error(f"{path}: the {what} cannot be read ({exc.strerror or exc}).") from exc
    if not stat.S_ISREG(mode):
        kind = (
            "a folder"
            if stat.S_ISDIR(mode)
            else "a FIFO (named pipe)"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a device"
        )
        raise error(f"{path}: the {what} is {kind}, not a regular file; give a file.")
    return path


def read_json(path: str | Path, data: bytes | None = None, *, error: type | None = None) -> Any:
    """Parse a JSON file strictly: UTF-8 only, no duplicate keys, no runaway nesting.

    ``json.loads`` keeps the last of two equal keys without a word, and a file
    nested 100 000 levels deep raises ``RecursionError``; both, like bytes that
    are not UTF-8, become one ``error`` naming the file.

    Parameters
    ----------
    path : str or Path
        The file; read unless ``data`` holds its bytes already.
    data : bytes, optional
    error : type, optional
        The :class:`~flarecast.errors.FlarecastError` subclass to raise; default
        :class:`~flarecast.errors.DataError`.
    """
    from flarecast.errors import DataError

    error = error or DataError

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise error(f"{path}: the key {key!r} appears twice in one object; keep one.")
            seen[key] = value
        return seen

    try:
        text = (Path(path).read_bytes() if data is None else data).decode("utf-8")
        return json.loads(text, object_pairs_hook=no_duplicates)
    except UnicodeDecodeError as exc:
        raise error(f"{path} is not UTF-8 text (byte {exc.start}): not a JSON file") from exc
    except RecursionError as exc:
        raise error(f"{path}: JSON nested too deeply to be a flarecast file") from exc
    except json.JSONDecodeError as exc:
        raise error(f"{path} is not valid JSON (truncated or edited?): {exc}") from exc
