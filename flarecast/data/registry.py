"""Named data sets: their files, public sources, checksums and licences, and where to find them.

The registry is package data (``flarecast/data/registry.toml``). Each entry
lists every file the data set needs, with its path under the data folder, its
public URL at a pinned commit, its sha256 and its size in bytes.

A file is looked for in this order:

1. ``$FLARECAST_DATA_DIR/<path>`` (or the ``data_dir`` argument);
2. the user cache ``$FLARECAST_CACHE_DIR/<path>``, default
   ``pooch.os_cache("flarecast")/<path>``;
3. a download into the cache with pooch, from the registered URL, or from
   ``$FLARECAST_DATA_URL/<path>`` (or the ``base_url`` argument) for a mirror
   laid out like the data folder.

(An explicit file path given to :func:`flarecast.data.tables.read.load_dataset`
comes before all of these and is not checked against the registry.)

**Verification.** Every file found locally, in the data folder or the cache,
is checked for size and sha256 before use. Hashing costs about 10 ms per
registered file and is done once per process per file version (the result is
cached by path, size and modification time). A file in the data folder that
fails is an error, since it is not the registered version; a stale file in the
cache is downloaded again. A download is written to a temporary file in the
cache, checked, and only then renamed into place, so a tampered or truncated
download raises :class:`~flarecast.errors.DownloadError` and leaves no file
behind.

**Retries.** Transient failures (HTTP 5xx, 408 and 429, timeouts of a
server that stalls, dropped connections and truncated bodies) are retried
``retries`` times with exponential backoff (``backoff``, ``2 * backoff``, ...
seconds, at most 30 s). Permanent ones (other HTTP 4xx such as 404, and a
checksum mismatch, which a retry of the same URL would only repeat) are not.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import importlib.resources
import logging
import os
import re
import time
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

from flarecast.errors import ConfigError, DataError, DownloadError
from flarecast.io import sha256_file

__all__ = [
    "ENV_DATA_DIR",
    "ENV_CACHE_DIR",
    "ENV_DATA_URL",
    "READERS",
    "DataFile",
    "DatasetEntry",
    "registry",
    "names",
    "get_entry",
    "resolve_data_dir",
    "resolve_cache_dir",
    "file_url",
    "verify_file",
    "locate",
    "combined_sha256",
]

ENV_DATA_DIR = "FLARECAST_DATA_DIR"
ENV_CACHE_DIR = "FLARECAST_CACHE_DIR"
ENV_DATA_URL = "FLARECAST_DATA_URL"
#: Reader names an entry may use (dispatched in :mod:`flarecast.data.tables.read`).
READERS: tuple[str, ...] = ("umich", "flareml", "hollanda", "liu2019", "srs", "synthetic")

_log = logging.getLogger(__name__)
_SHA = re.compile(r"^[0-9a-f]{64}$")


@dataclasses.dataclass(frozen=True)
class DataFile:
    """One registered file.

    Attributes
    ----------
    path : str
        POSIX path relative to the data folder, e.g. ``umich_arflares/arflares24h.csv``.
    url : str
        Public URL at the pinned commit; ``""`` when there is no public copy.
    sha256 : str
        Hex digest of the file's bytes.
    size : int
        Size in bytes.
    """

    path: str
    url: str
    sha256: str
    size: int


@dataclasses.dataclass(frozen=True)
class DatasetEntry:
    """A named data set: what it is, under which terms, and its files."""

    name: str
    description: str
    reader: str
    files: tuple[DataFile, ...]
    licence: str
    citation: str
    licence_note: str = ""
    homepage: str = ""
    commit: str = ""
    rows: int | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict, hash=False)

    @property
    def synthetic(self) -> bool:
        """True for the generated demo set."""
        return self.reader == "synthetic"


def _parse_entry(name: str, raw: dict[str, Any]) -> DatasetEntry:
    problems = [
        f"missing key {k!r}"
        for k in ("description", "reader", "licence", "citation", "files")
        if k not in raw
    ]
    if raw.get("reader") not in READERS:
        problems.append(f"reader must be one of {list(READERS)}, got {raw.get('reader')!r}")
    files = []
    for i, f in enumerate(raw.get("files", [])):
        sha, size = str(f.get("sha256", "")), f.get("size")
        if not f.get("path") or not _SHA.match(sha) or not isinstance(size, int) or size <= 0:
            problems.append(f"file {i} needs path, a 64-hex sha256 and a positive integer size")
            continue
        files.append(DataFile(path=f["path"], url=f.get("url", ""), sha256=sha, size=size))
    if problems:
        raise ConfigError(f"registry.toml, entry {name!r}: " + "; ".join(problems))
    return DatasetEntry(
        name=name,
        description=raw["description"],
        reader=raw["reader"],
        files=tuple(files),
        licence=raw["licence"],
        citation=raw["citation"],
        licence_note=raw.get("licence_note", ""),
        homepage=raw.get("homepage", ""),
        commit=raw.get("commit", ""),
        rows=raw.get("rows"),
        options=dict(raw.get("options", {})),
    )


@functools.cache
def registry() -> dict[str, DatasetEntry]:
    """All registered data sets by name, in registry order (read once per process)."""
    text = importlib.resources.files("flarecast.data").joinpath("registry.toml").read_text("utf-8")
    return {name: _parse_entry(name, raw) for name, raw in tomllib.loads(text).items()}


def names() -> list[str]:
    """Registered data-set names, in registry order."""
    return list(registry())


def get_entry(name: str) -> DatasetEntry:
    """The entry called ``name``; an unknown name is a :class:`ConfigError` suggesting close ones."""
    entries = registry()
    if name not in entries:
        close = difflib.get_close_matches(name, entries, n=3)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ConfigError(f"Unknown data set {name!r}; registered: {', '.join(entries)}.{hint}")
    return entries[name]


def resolve_data_dir(explicit: str | Path | None = None) -> Path | None:
    """The local data folder: ``explicit``, else ``$FLARECAST_DATA_DIR``, else None."""
    value = explicit if explicit is not None else os.environ.get(ENV_DATA_DIR)
    return Path(value).expanduser() if value else None


def resolve_cache_dir(explicit: str | Path | None = None) -> Path:
    """The download cache: ``explicit``, else ``$FLARECAST_CACHE_DIR``, else ``pooch.os_cache("flarecast")``."""
    value = explicit if explicit is not None else os.environ.get(ENV_CACHE_DIR)
    if value:
        return Path(value).expanduser()
    import pooch  # lazy: only needed when no cache folder is configured

    return Path(pooch.os_cache("flarecast"))


def file_url(file: DataFile, base_url: str | None = None) -> str:
    """Where to download ``file``: ``base_url`` (or ``$FLARECAST_DATA_URL``) + its path, else its registered URL."""
    base = base_url if base_url is not None else os.environ.get(ENV_DATA_URL)
    if base:
        return f"{base.rstrip('/')}/{urllib.parse.quote(file.path)}"
    return file.url


@functools.lru_cache(maxsize=256)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    # Keyed by size and mtime so an edited file is hashed again.
    return sha256_file(path)


def verify_file(path: str | Path, file: DataFile) -> None:
    """Check size and sha256 of a local copy of ``file``; raise :class:`DataError` if it differs."""
    path = Path(path)
    stat = path.stat()
    if stat.st_size != file.size:
        raise DataError(
            f"{path} has {stat.st_size} bytes but the registered {file.path} has {file.size}: "
            "it is not the registered version (truncated or edited?). Replace it or remove it to download."
        )
    digest = _sha256_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if digest != file.sha256:
        raise DataError(
            f"{path} has sha256 {digest} but the registered {file.path} has {file.sha256}: "
            "it is not the registered version. Replace it or remove it to download."
        )


def _transient(exc: Exception) -> bool:
    """Whether a failed download is worth repeating: a server or network hiccup, not a verdict."""
    import requests

    if isinstance(exc, requests.HTTPError):
        status = exc.response.status_code if exc.response is not None else None
        return status is not None and (status >= 500 or status in (408, 429))
    # ConnectionError covers refused connections and read timeouts while streaming the body;
    # ChunkedEncodingError a body cut short of its Content-Length.
    return isinstance(
        exc, (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)
    )


def _download(
    file: DataFile,
    cache: Path,
    url: str,
    progress: bool,
    name: str,
    *,
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 0.5,
) -> Path:
    import pooch
    import requests

    target = cache / file.path
    if not url:
        raise DownloadError(
            f"{file.path} (data set {name!r}) has no public download: it is a derived file. "
            f"Put it at ${ENV_DATA_DIR}/{file.path} (see data/README.md)."
        )
    logger = pooch.get_logger()
    level = logger.level
    # pooch logs every download to stderr through its own handler; library code must not print.
    logger.setLevel(logging.WARNING)
    try:
        for attempt in range(retries + 1):
            _log.info("downloading %s to %s (attempt %d)", url, target, attempt + 1)
            try:
                pooch.retrieve(
                    url,
                    known_hash=f"sha256:{file.sha256}",
                    fname=target.name,
                    path=target.parent,
                    downloader=pooch.HTTPDownloader(progressbar=progress, timeout=timeout),
                )
                return target
            except (ValueError, OSError, requests.RequestException) as exc:
                # pooch removes its temporary file; a stale cached copy must go too.
                target.unlink(missing_ok=True)
                if not _transient(exc) or attempt == retries:
                    tries = (
                        f"after {attempt + 1} attempt(s)" if _transient(exc) else "(not retried)"
                    )
                    raise DownloadError(
                        f"Download of {file.path} (data set {name!r}) from {url} failed {tries}: "
                        f"{str(exc).rstrip('.')}. Nothing was written to {cache}."
                    ) from exc
                wait = min(backoff * 2**attempt, 30.0)
                _log.info("download of %s failed (%s); retrying in %.1f s", url, exc, wait)
                time.sleep(wait)
    finally:
        logger.setLevel(level)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def locate(
    name: str,
    *,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    base_url: str | None = None,
    download: bool = True,
    progress: bool = False,
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 0.5,
) -> dict[str, Path]:
    """Find (and if needed download) every file of the data set ``name``, verified.

    Parameters
    ----------
    name : str
        A registered data-set name.
    data_dir : str or Path, optional
        Local data folder; default ``$FLARECAST_DATA_DIR``.
    cache_dir : str or Path, optional
        Download cache; default ``$FLARECAST_CACHE_DIR`` or ``pooch.os_cache("flarecast")``.
    base_url : str, optional
        Mirror laid out like the data folder; default ``$FLARECAST_DATA_URL``,
        else each file's registered URL.
    download : bool, default True
        Download missing files; when False a missing file is a :class:`DataError`.
    progress : bool, default False
        Show a tqdm progress bar on stderr while downloading (for the CLI).
    timeout : float, default 60.0
        Seconds to wait for a connection or for the next bytes of a response.
    retries : int, default 3
        Extra attempts after a transient failure (5xx, timeout, dropped or
        truncated transfer); 404 and checksum mismatches are never retried.
    backoff : float, default 0.5
        Seconds before the first retry, doubled for each further one (at most 30 s).

    Returns
    -------
    dict of str to Path
        Registered relative path -> local verified file, in registry order.

    Raises
    ------
    ConfigError
        Unknown name.
    DataError
        A local file fails its size or checksum, or a file is missing and ``download`` is False.
    DownloadError
        A download fails (after the retries, for a transient failure), is
        truncated or does not match its sha256.
    """
    if retries < 0 or timeout <= 0 or backoff < 0:
        raise ConfigError(
            "The 'retries', 'timeout' and 'backoff' parameters of locate must be >= 0, > 0 and >= 0. "
            f"Got {retries!r}, {timeout!r} and {backoff!r} instead."
        )
    entry = get_entry(name)
    folder = resolve_data_dir(data_dir)
    cache = resolve_cache_dir(cache_dir)
    found: dict[str, Path] = {}
    for file in entry.files:
        local = folder / file.path if folder is not None else None
        cached = cache / file.path
        if local is not None and local.is_file():
            verify_file(local, file)
            found[file.path] = local
            continue
        if cached.is_file():
            try:
                verify_file(cached, file)
                found[file.path] = cached
                continue
            except DataError:
                if not download:
                    raise
        if not download:
            where = f"{local} or " if local is not None else ""
            raise DataError(
                f"{file.path} of data set {name!r} is not in {where}{cached}; fetch it first."
            )
        found[file.path] = _download(
            file, cache, file_url(file, base_url), progress, name,
            timeout=timeout, retries=retries, backoff=backoff,
        )  # fmt: skip
    return found


def combined_sha256(entry: DatasetEntry) -> str | None:
    """One checksum for a data set: the file's sha256, or for several files the sha256 of
    their ``"<sha256>  <path>\\n"`` lines (``sha256sum`` format, registry order)."""
    if not entry.files:
        return None
    if len(entry.files) == 1:
        return entry.files[0].sha256
    lines = "".join(f"{f.sha256}  {f.path}\n" for f in entry.files)
    return hashlib.sha256(lines.encode()).hexdigest()
