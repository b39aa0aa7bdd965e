"""Fuzzing every table reader and the GOES parser with random and mutated input.

The promise checked here: given any bytes, a reader either returns a valid
canonical table (:func:`~flarecast.data.schema.validate_labelled` passes, and
the invariants of ``assert_canonical`` in ``test_tables.py`` hold) or raises a
:class:`~flarecast.errors.FlarecastError` whose message names the file (and the
row and column when one cell is to blame). Nothing else escapes: no pandas
``ParserError``, ``UnicodeDecodeError``, ``KeyError``, numpy ``ValueError`` or
``RuntimeWarning``.

Inputs are mutations (random bytes, truncation, wrong delimiters, swapped,
dropped and duplicated columns, duplicate headers, extreme and NaN/inf values,
bad GOES classes, naive or impossible times, empty files, ragged rows, other
encodings) of small synthetic files and of a few hundred lines copied from the
real files in ``$FLARECAST_DATA_DIR`` into a temporary folder (never into the
repository).

Profiles: the quick profile (default, 30 examples per reader and test, fixed
seed) runs in normal CI; the heavy one (>= 2000 examples per reader, random
seed) is one command::

    FLARECAST_FUZZ=heavy FLARECAST_DATA_DIR=/path/to/shared/data pytest tests/test_fuzz_readers.py -q

The readers are a table (:data:`CASES`) so that new readers are fuzzed by
adding a row; the catalogue and SHARP-series readers are fuzzed the same way in
``test_fuzz_catalogues.py``.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from flarecast.data.schema import Dataset, feature_columns, validate_labelled
from flarecast.data.tables.per_flare import (
    FLAREML_FEATURES,
    UMICH_FEATURES,
    read_flareml,
    read_umich,
)
from flarecast.data.tables.read import load_dataset, read_table
from flarecast.data.tables.windowed import (
    HOLLANDA_FEATURES,
    is_history_feature,
    read_hollanda,
    read_liu2019_demo,
)
from flarecast.errors import DataWarning, FlarecastError, GOESClassError
from flarecast.goes import class_letter, flux_to_class, parse_goes_class

# --------------------------------------------------------------------------- profiles
_COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("flarecast-fuzz-quick", max_examples=30, derandomize=True, **_COMMON)
settings.register_profile("flarecast-fuzz-heavy", max_examples=2000, **_COMMON)
PROFILE = "flarecast-fuzz-" + os.environ.get("FLARECAST_FUZZ", "quick")
FUZZ = settings.get_profile(PROFILE)  # used as a decorator: never loaded globally
QUICK = PROFILE.endswith("quick")


# --------------------------------------------------------------------------- checks
def check_dataset(ds: Any, path: Path) -> None:
    """What a reader that returns must have returned: a valid canonical table."""
    assert isinstance(ds, Dataset), type(ds)
    frame = ds.frame
    validate_labelled(frame, ds.name, list(ds.features))
    assert feature_columns(frame) == list(ds.features)
    assert str(frame["time"].dt.tz) == "UTC"
    assert frame["noaa_ar"].dtype == "Int64" and frame["noaa_ar"].notna().all()
    assert (frame["noaa_ar"] > 0).all()
    if "harpnum" in frame.columns:
        assert frame["harpnum"].dtype == "Int64"
    flux = frame["peak_flux"].to_numpy(dtype=float)
    assert np.isfinite(flux).all() and (flux >= 0).all(), flux
    stated = parse_goes_class(frame["goes_class"], allow_none=True)
    np.testing.assert_allclose(stated, flux, rtol=0.1)
    assert (class_letter(stated) == class_letter(flux)).all()
    assert list(frame.index) == list(range(len(frame)))
    assert ds.sha256 and len(ds.sha256) == 64


def outcome(read: Callable[[Path], Any], path: Path) -> Any:
    """Run a reader: the returned object, or the FlarecastError it raised (anything else fails the test).

    Documented policy warnings (:class:`DataWarning`) are allowed; any other
    warning (numpy overflow, pandas parser warnings) is an error, since it
    means a value slipped through unchecked.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", DataWarning)
        try:
            return read(path)
        except FlarecastError as exc:
            return exc


def assert_names_file(exc: FlarecastError, path: Path) -> None:
    assert str(path) in str(exc), f"the message does not name {path}: {exc}"


def assert_finding_stays_fixed(
    seeds: Any, case: ReaderCase, edit: Callable[[bytes], bytes], error: str, message: str
) -> None:
    """``edit`` applied to ``case``'s synthetic seed: the reader raises ``error``, naming the file, matching ``message``."""
    work = seeds.workspace(case, "synthetic")
    try:
        path = work / case.target
        path.write_bytes(edit(path.read_bytes()))
        result = outcome(case.read, path)
        assert type(result).__name__ == error, result
        assert_names_file(result, path)
        assert re.search(message, str(result)), str(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- seeds
DATA = "solar_flare_dataset_2010_2019.csv"
LABELS = "derived_goes_window_labels.csv"
REAL_LINES = 200  # data lines copied from a real file


def _head(src: Path, dst: Path, lines: int = REAL_LINES) -> None:
    with open(src, "rb") as fh:
        dst.write_bytes(b"".join(fh.readline() for _ in range(lines + 1)))


def _umich_synthetic(folder: Path) -> None:
    feats = ",".join(str(1.5 + i) for i in range(len(UMICH_FEATURES)))
    head = (
        "NOAA_ar_num,LON_FWT,LAT_FWT,T_REC," + ",".join(UMICH_FEATURES) + ",log_intensity,category"
    )
    (folder / "arflares24h.csv").write_text(
        f"{head}\n11158,-20.0,-20.0,1297648800,{feats},-3.657577319177794,X\n"
        f"11166,10.0,20.0,1299626640,{feats},-5.508638306165727,C\n"
        f"11166,11.0,20.5,1299630240,{feats},-6.30103,B\n"
    )


def _flareml_synthetic(folder: Path) -> None:
    row = ",".join(str(2.5 + i) for i in range(len(FLAREML_FEATURES)))
    head = "Flare Class,Flare Date,AR," + ",".join(FLAREML_FEATURES)
    (folder / "flaringar_original_data.csv").write_text(
        f"{head}\nX22,2/15/2011 0:10,11158,{row}\nM15,3/9/2011 0:10,11166,{row.replace('2.5', '3.5')}\n"
        f"B10,5/3/2010 0:10,11066,{row.replace('2.5', '4.5')}\n"
    )


def _random40_synthetic(folder: Path) -> None:
    _flareml_synthetic(folder)
    text = (folder / "flaringar_original_data.csv").read_text()
    (folder / "flaringar_original_data.csv").unlink()
    (folder / "flaringar_simple_random_40.csv").write_text(
        text.replace("Flare Date,AR,", "fdate,noaaar,", 1)
    )


def _flareml_train_synthetic(folder: Path) -> None:
    _flareml_synthetic(folder)
    original = pd.read_csv(folder / "flaringar_original_data.csv")
    train = original.drop(columns=["Flare Date", "AR"])
    train["Flare Class"] = train["Flare Class"].str[0]
    train.to_csv(folder / "flaringar_training_sample.csv", index=False)


def _hollanda_synthetic(folder: Path) -> None:
    head = "FlareNumber;T_REC;NOAA_AR;QUALITY;Longitude;Latitude;" + ";".join(HOLLANDA_FEATURES)
    feats = ";".join(str(1.5 + i) for i in range(len(HOLLANDA_FEATURES)))
    (folder / DATA).write_text(
        f"{head}\n0;2010-05-01 23:48:00;11064;0;28;15;{feats}\n"
        f"1;2010-05-02 23:48:00;11064;0;15;16;{feats}\n0;2010-05-03 23:48:00;11065;0;5;6;{feats}\n"
    )
    (folder / LABELS).write_text(
        "row,NOAA_AR,T_REC,FlareNumber,max_class_prev_24h,max_class_next_0_24h,max_class_next_24_48h\n"
        "0,11064,2010-05-01 23:48:00,0,N,B1.6,N\n1,11064,2010-05-02 23:48:00,1,N,M1.0,X2.0\n"
        "2,11065,2010-05-03 23:48:00,0,C1.0,N,\n"
    )


def _liu_synthetic(folder: Path) -> None:
    (folder / "demo_M_normalized_testing.csv").write_text(
        "label,flare,timestamp,NOAA,HARP,TOTUSJH,Mhis,USFLUX\n"
        "Negative,C1.0,2015-04-04T05:34:17.60Z,12320,5415,0.1,0,-0.5\n"
        "Positive,M1.4,2015-04-04T06:34:17.60Z,12320,5415,0.2,1,0.5\n"
        "Negative,N,2015-04-04T07:34:17.60Z,12320,5415,0.3,1,0.7\n"
    )


def _canonical_frame(data_dir: Path | None) -> pd.DataFrame:
    """A canonical table: tiny and made up, or the first rows of a real Michigan file."""
    if data_dir is None:
        return pd.DataFrame({
            "time": ["2014-01-01T00:00:00Z", "2014-01-01T01:00:00Z", "2014-01-02T00:00:00+01:00"],
            "noaa_ar": [11936, 11936, 11937],
            "harpnum": [3563, 3563, None],
            "goes_class": ["N", "M1.2", "x2.4"],
            "LON_FWT": [-10.0, -9.5, 30.0],
            "USFLUX": [1e21, 2e21, 3e21],
            "R_VALUE": [0.0, 3.5, 4.1],
        })  # fmt: skip
    raw = pd.read_csv(data_dir / "umich_arflares/arflares24h.csv", nrows=REAL_LINES)
    flux = 10.0 ** raw["log_intensity"].to_numpy()
    return pd.DataFrame(
        {
            "time": pd.to_datetime(raw["T_REC"], unit="s", utc=True).dt.strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "noaa_ar": raw["NOAA_ar_num"],
            "goes_class": flux_to_class(flux),
            "peak_flux": flux,
            "LON_FWT": raw["LON_FWT"],
            **{c: raw[c] for c in UMICH_FEATURES[:8]},
        }
    )


def _write_canonical(kind: str) -> Callable[[Path, Path | None], None]:
    def write(folder: Path, data_dir: Path | None) -> None:
        frame = _canonical_frame(data_dir)
        if kind == "csv":
            frame.to_csv(folder / "table.csv", index=False)
            return
        frame = frame.assign(time=pd.to_datetime(frame["time"], utc=True))
        if kind == "parquet":
            frame.to_parquet(folder / "table.parquet")
            return
        import xarray as xr

        # CF times are naive UTC; the sample index is a dimension, not a column.
        frame = frame.assign(time=frame["time"].dt.tz_localize(None)).rename_axis("sample")
        xr.Dataset.from_dataframe(frame).to_netcdf(folder / "table.nc", engine="h5netcdf")

    return write


def _copy_real(*pairs: tuple[str, str, int | None]) -> Callable[[Path, Path], None]:
    """Copy (relative source, target name, data lines or None for all) into the folder."""

    def copy(folder: Path, data_dir: Path) -> None:
        for rel, name, lines in pairs:
            if lines is None:
                shutil.copyfile(data_dir / rel, folder / name)
            else:
                _head(data_dir / rel, folder / name, lines)

    return copy


@dataclasses.dataclass(frozen=True)
class ReaderCase:
    """One reader under fuzz.

    Attributes
    ----------
    name : str
        Test id.
    read : callable
        ``read(mutated_path) -> result``; companions sit beside the mutated file.
    target : str
        File name of the mutated file (readers parse names and find companions by name).
    synthetic : callable
        ``synthetic(folder)`` writes a small valid seed and its companions.
    real : callable or None
        ``real(folder, data_dir)`` copies a few hundred real lines (and companions).
    check : callable
        ``check(result, path)`` asserts a returned result is valid.
    text : bool
        Whether line and field mutations apply (delimited text files).
    sep : str
        Field separator of the text file.
    unread : callable
        ``unread(column) -> bool`` for source columns the reader documents as not read.
    """

    name: str
    read: Callable[[Path], Any]
    target: str
    synthetic: Callable[[Path], None]
    real: Callable[[Path, Path], None] | None
    check: Callable[[Any, Path], None] = check_dataset
    text: bool = True
    sep: str = ","
    unread: Callable[[str], bool] = lambda column: False


def _synthetic_only(write: Callable[[Path, Path | None], None]) -> Callable[[Path], None]:
    return lambda folder: write(folder, None)


CASES: list[ReaderCase] = [
    ReaderCase(
        "umich", read_umich, "arflares24h.csv", _umich_synthetic,
        _copy_real(("umich_arflares/arflares24h.csv", "arflares24h.csv", REAL_LINES)),
    ),
    ReaderCase(
        "flareml-original", read_flareml, "flaringar_original_data.csv", _flareml_synthetic,
        _copy_real(("flareml_liu2017/flaringar_original_data.csv", "flaringar_original_data.csv", REAL_LINES)),
    ),
    ReaderCase(
        "flareml-random40", read_flareml, "flaringar_simple_random_40.csv", _random40_synthetic,
        _copy_real(("flareml_liu2017/flaringar_simple_random_40.csv", "flaringar_simple_random_40.csv", None)),
    ),
    ReaderCase(
        "flareml-training", read_flareml, "flaringar_training_sample.csv", _flareml_train_synthetic,
        _copy_real(
            ("flareml_liu2017/flaringar_training_sample.csv", "flaringar_training_sample.csv", REAL_LINES),
            ("flareml_liu2017/flaringar_original_data.csv", "flaringar_original_data.csv", None),
        ),
    ),
    ReaderCase(
        "hollanda-data", read_hollanda, DATA, _hollanda_synthetic,
        _copy_real(("hollanda_sharp_swpc/" + DATA, DATA, REAL_LINES),
                   ("hollanda_sharp_swpc/" + LABELS, LABELS, REAL_LINES)),
        sep=";", unread=lambda c: c in ("QUALITY", "Longitude", "Latitude"),
    ),
    ReaderCase(
        "hollanda-labels", lambda p: read_hollanda(p.with_name(DATA)), LABELS, _hollanda_synthetic,
        _copy_real(("hollanda_sharp_swpc/" + DATA, DATA, REAL_LINES),
                   ("hollanda_sharp_swpc/" + LABELS, LABELS, REAL_LINES)),
        unread=lambda c: c in ("max_class_prev_24h", "max_class_next_24_48h"),
    ),
    ReaderCase(
        "liu2019", read_liu2019_demo, "demo_M_normalized_testing.csv", _liu_synthetic,
        _copy_real(("liu2019_lstm/demo_M_normalized_testing.csv", "demo_M_normalized_testing.csv", 150)),
        unread=is_history_feature,
    ),
    ReaderCase("table-csv", read_table, "table.csv", _synthetic_only(_write_canonical("csv")),
               lambda folder, data_dir: _write_canonical("csv")(folder, data_dir)),
    ReaderCase("table-parquet", read_table, "table.parquet", _synthetic_only(_write_canonical("parquet")),
               lambda folder, data_dir: _write_canonical("parquet")(folder, data_dir), text=False),
    ReaderCase("table-netcdf", read_table, "table.nc", _synthetic_only(_write_canonical("netcdf")),
               lambda folder, data_dir: _write_canonical("netcdf")(folder, data_dir), text=False),
    # load_dataset picks the reader from the (mutated) header: the dispatch is fuzzed too.
    ReaderCase("load_dataset-umich", load_dataset, "arflares24h.csv", _umich_synthetic,
               _copy_real(("umich_arflares/arflares24h.csv", "arflares24h.csv", REAL_LINES))),
    ReaderCase("load_dataset-liu2019", load_dataset, "demo_M_normalized_testing.csv", _liu_synthetic,
               _copy_real(("liu2019_lstm/demo_M_normalized_testing.csv", "demo_M_normalized_testing.csv", 150)),
               unread=is_history_feature),
]  # fmt: skip


def check_events(events: Any, path: Path) -> None:
    """What a catalogue reader that returns must have returned: a valid event table.

    The base of the event-table check in ``test_fuzz_catalogues.py``.
    """
    from flarecast.data.events import EVENT_COLUMNS, validate_events

    assert isinstance(events, pd.DataFrame), type(events)
    validate_events(events, str(path))
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert events["start"].notna().all() and events["peak"].notna().all()
    assert (events["peak"] >= events["start"]).all()
    flux = events["peak_flux"].to_numpy(dtype=float)
    assert np.isfinite(flux).all() and (flux > 0).all(), flux
    stated = parse_goes_class(events["goes_class"])
    assert (class_letter(stated) == class_letter(flux)).all()
    assert events["noaa_ar"].dtype == "Int64" and (events["noaa_ar"].dropna() > 0).all()
    assert list(events.index) == list(range(len(events)))


#: Readers not fuzzed yet. The catalogue and SHARP-series readers (all seven catalogue
#: formats, read_catalogue, read_sharp_series, read_harp_map) are fuzzed in test_fuzz_catalogues.py.
PENDING: dict[str, str] = {}


# --------------------------------------------------------------------------- mutations
JUNK = "qq#1"  # not a number, a class, a time or a missing marker
NASTY = [
    "", " ", "nan", "NaN", "NA", "null", "None", "<NA>", "inf", "-inf", "Infinity", "1e308",
    "-1e308", "1e999", "-1e999", "1e-320", "0", "-0.0", "-1", "9" * 40, "0x10", "1_000",
    "\u0661\u0662", "1,5", "true", "N", "X", "Z9", "M10", "M0", "X0.0", "x2.4", "X" + "9" * 400,
    "M\u0661", "B 5", "////", "--", "2014-02-30T00:00:00Z", "2014-01-01 00:00", "2014-01-01T25:61Z",
    "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2/30/2011 0:10",
    "13/1/2011 0:10", "2010-05-01 23:48:00+05:00", "\x00", "\u00e9", "\ufeff", '"', "'", JUNK,
]  # fmt: skip
SEPARATORS = [",", ";", "\t", " ", "|"]


def _lines(blob: bytes) -> list[bytes]:
    lines = blob.split(b"\n")
    return lines[:-1] if lines and lines[-1] == b"" else lines


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


def _mutate_text(data: st.DataObject, blob: bytes, sep: str) -> bytes:
    """One line- or field-level mutation of a delimited text file."""
    s = sep.encode()
    lines = _lines(blob)
    assume(lines)
    kind = data.draw(
        st.sampled_from(
            ["cell", "column", "delimiter", "swap_header", "swap_columns", "duplicate_header",
             "drop_column", "duplicate_row", "header_only", "no_header", "ragged", "extra_field",
             "newlines", "encoding", "bom", "blank_lines", "quote"]
        ),
        label="text mutation",
    )  # fmt: skip
    header = lines[0].split(s)
    width = len(header)
    row = data.draw(st.integers(0, len(lines) - 1), label="line")
    col = data.draw(st.integers(0, width - 1), label="field")
    value = data.draw(st.sampled_from(NASTY) | st.text(max_size=8), label="value").encode(
        "utf-8", "surrogatepass"
    )

    def set_field(line: bytes, j: int, v: bytes) -> bytes:
        fields = line.split(s)
        if j < len(fields):
            fields[j] = v
        return s.join(fields)

    if kind == "cell":
        lines[row] = set_field(lines[row], col, value)
    elif kind == "column":  # a whole column extreme / missing / bad
        lines[1:] = [set_field(line, col, value) for line in lines[1:]]
    elif kind == "delimiter":
        other = data.draw(st.sampled_from([x for x in SEPARATORS if x != sep]), label="sep")
        lines = [line.replace(s, other.encode()) for line in lines]
    elif kind in ("swap_header", "swap_columns"):
        other = data.draw(st.integers(0, width - 1), label="other field")
        targets = [0] if kind == "swap_header" else range(len(lines))
        for i in targets:
            fields = lines[i].split(s)
            if max(col, other) < len(fields):
                fields[col], fields[other] = fields[other], fields[col]
            lines[i] = s.join(fields)
    elif kind == "duplicate_header":
        other = data.draw(st.integers(0, width - 1), label="other field")
        lines[0] = set_field(lines[0], col, header[other])
    elif kind == "drop_column":
        lines = [s.join(f for j, f in enumerate(line.split(s)) if j != col) for line in lines]
    elif kind == "duplicate_row":
        lines.insert(data.draw(st.integers(1, len(lines)), label="at"), lines[row])
    elif kind == "header_only":
        lines = lines[:1]
    elif kind == "no_header":
        lines = lines[1:] or [b""]
    elif kind == "ragged":
        fields = lines[row].split(s)
        lines[row] = s.join(
            fields[:-1] if data.draw(st.booleans(), label="shorter") else [*fields, value]
        )
    elif kind == "extra_field":  # every row one field longer than the header
        lines[1:] = [line + s + b"1" for line in lines[1:]]
    elif kind == "newlines":
        return data.draw(st.sampled_from([b"\r\n", b"\r"]), label="eol").join(lines)
    elif kind == "encoding":
        text = _join(lines).decode("utf-8", "replace")
        enc = data.draw(
            st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252"]), label="encoding"
        )
        return text.replace("T", "\u00c9", 1).encode(enc, "replace")
    elif kind == "bom":
        return b"\xef\xbb\xbf" + _join(lines)
    elif kind == "blank_lines":
        lines.insert(row, b"")
    elif kind == "quote":
        lines[row] = set_field(lines[row], col, b'"' + value)
    return _join(lines)


def _mutate_bytes(data: st.DataObject, blob: bytes) -> bytes:
    kind = data.draw(
        st.sampled_from(["truncate", "splice", "flip", "random", "empty", "zeros"]),
        label="byte mutation",
    )
    if kind == "truncate":
        return blob[: data.draw(st.integers(0, max(len(blob) - 1, 0)), label="cut")]
    if kind == "splice":
        at = data.draw(st.integers(0, len(blob)), label="at")
        cut = data.draw(st.integers(0, 64), label="remove")
        return blob[:at] + data.draw(st.binary(max_size=64), label="insert") + blob[at + cut :]
    if kind == "flip":
        flips = data.draw(st.lists(st.integers(0, max(len(blob) - 1, 0)), min_size=1, max_size=8))
        out = bytearray(blob)
        for i in flips:
            if out:
                out[i] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        return bytes(out)
    if kind == "random":
        return data.draw(st.binary(max_size=4096), label="random bytes")
    if kind == "zeros":
        return b"\x00" * data.draw(st.integers(1, 4096), label="zeros")
    return b""


def _mutate(data: st.DataObject, blob: bytes, case: ReaderCase) -> bytes:
    steps = data.draw(st.integers(1, 3), label="steps")
    for _ in range(steps):
        use_text = case.text and data.draw(st.integers(0, 3), label="text?") > 0
        blob = _mutate_text(data, blob, case.sep) if use_text else _mutate_bytes(data, blob)
    return blob


# --------------------------------------------------------------------------- harness
class Seeds:
    """Every case's seed folders, built and checked once per module; fresh copies per example."""

    def __init__(self, root: Path, data_dir: Path | None) -> None:
        self.root = root
        self.origins = ["synthetic"] + (["real"] if data_dir is not None else [])
        self._folders: dict[tuple[str, str], Path] = {}
        for case in CASES:
            for origin in self.origins:
                folder = root / f"{case.name}-{origin}"
                folder.mkdir()
                if origin == "real":
                    case.real(folder, data_dir)
                else:
                    case.synthetic(folder)
                # A seed must read cleanly, or the mutations test nothing.
                result = outcome(case.read, folder / case.target)
                assert not isinstance(result, Exception), f"seed of {case.name} fails: {result}"
                case.check(result, folder / case.target)
                self._folders[case.name, origin] = folder

    def origin(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(self.origins), label="seed")

    def workspace(self, case: ReaderCase, origin: str) -> Path:
        work = Path(tempfile.mkdtemp(dir=self.root))
        for f in self._folders[case.name, origin].iterdir():
            shutil.copyfile(f, work / f.name)
        return work


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> Seeds:
    """Seeds from synthetic files and, with $FLARECAST_DATA_DIR, from the real files."""
    value = os.environ.get("FLARECAST_DATA_DIR")
    data_dir = Path(value) if value and Path(value).is_dir() else None
    return Seeds(tmp_path_factory.mktemp("fuzz"), data_dir)


# h5py objects of a half-opened corrupt file complain while being garbage-collected.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@FUZZ
@given(data=st.data())
def test_mutated_input_gives_a_valid_table_or_a_flarecast_error(seeds, case, data):
    work = seeds.workspace(case, seeds.origin(data))
    try:
        path = work / case.target
        path.write_bytes(_mutate(data, path.read_bytes(), case))
        result = outcome(case.read, path)
        if isinstance(result, FlarecastError):
            assert_names_file(result, path)
        else:
            case.check(result, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


TEXT_CASES = [c for c in CASES if c.text]


@pytest.mark.parametrize("case", TEXT_CASES, ids=[c.name for c in TEXT_CASES])
@FUZZ
@given(data=st.data())
def test_one_bad_cell_is_named_by_row_and_column(seeds, case, data):
    """A single bad cell: junk text is refused naming file, row and column; any other
    nasty value gives a valid table (a missing feature is dropped and counted with its
    row and column) or an error naming the file and the row."""
    work = seeds.workspace(case, seeds.origin(data))
    try:
        path = work / case.target
        lines = _lines(path.read_bytes())
        sep = case.sep.encode()
        header = [h.decode().strip() for h in lines[0].split(sep)]
        row = data.draw(st.integers(1, len(lines) - 1), label="data line")
        col = data.draw(st.integers(0, len(header) - 1), label="column")
        value = data.draw(st.sampled_from(NASTY), label="value")
        fields = lines[row].split(sep)
        fields[col] = value.encode()
        lines[row] = sep.join(fields)
        path.write_bytes(_join(lines))
        name, where = header[col], f"row {row - 1}"
        result = outcome(case.read, path)
        if isinstance(result, FlarecastError):
            message = str(result)
            assert_names_file(result, path)
            assert where in message, f"{where} not named: {message}"
            if value == JUNK:
                assert repr(name) in message or name in message, f"{name!r} not named: {message}"
            return
        case.check(result, path)
        assert value != JUNK or case.unread(name), f"{JUNK!r} in {name!r} was accepted"
        if name in result.features and value.strip().lower() in ("", "nan", "inf", "-inf", "1e999"):
            dropped = [n for n in result.notes if n.startswith("dropped") and name in n]
            assert dropped and where in dropped[0], result.notes
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- canonical frames
def _column(kind: str, n: int, data: st.DataObject) -> Any:
    """A column of ``n`` values of a drawn (often wrong) type."""
    floats = st.floats(allow_nan=True, allow_infinity=True)
    pools = {
        "utc": st.datetimes(timezones=st.just(datetime.UTC)),
        "naive": st.datetimes(),
        "iso": st.sampled_from(["2014-01-01T00:00:00Z", "2014-01-01T00:00:00", "2014-02-30T00:00Z",
                                "2014-01-01T00:00:00+05:00", "", "yesterday"]),
        "int": st.integers(-(2**63), 2**63 - 1),
        "float": floats,
        "bool": st.booleans(),
        "class": st.sampled_from(["N", "M1.2", "X10+", "x2.4", "Z9", "", "M10", "X" + "9" * 400]),
        "text": st.text(max_size=6),
    }  # fmt: skip
    values = data.draw(st.lists(pools[kind], min_size=n, max_size=n), label=kind)
    if kind == "utc":
        return (
            pd.to_datetime(values, utc=True)
            if values
            else pd.Series([], dtype="datetime64[ns, UTC]")
        )
    if kind == "naive":
        return pd.to_datetime(values) if values else pd.Series([], dtype="datetime64[ns]")
    if kind == "int":
        return np.array(values, dtype=np.int64)
    if kind == "float":
        return np.array(values, dtype=float)
    return values


@pytest.mark.parametrize("fmt", ["parquet", "netcdf"])
@FUZZ
@given(data=st.data())
def test_typed_tables_with_wrong_types_and_values(tmp_path_factory, fmt, data):
    """Parquet and netCDF carry types: every column of every type (datetimes with and
    without zone, huge ints, NaN/inf floats, bools, text, bad classes)."""
    n = data.draw(st.integers(0, 5), label="rows")
    kinds = ["utc", "naive", "iso", "int", "float", "bool", "class", "text"]
    frame = pd.DataFrame(index=range(n))
    for col in (
        "time",
        "noaa_ar",
        "goes_class",
        "peak_flux",
        "harpnum",
        "LAT_FWT",
        "USFLUX",
        "MEANGAM",
    ):
        if col in ("time", "noaa_ar") or data.draw(st.booleans(), label=f"has {col}"):
            frame[col] = _column(data.draw(st.sampled_from(kinds), label=f"{col} kind"), n, data)
    path = tmp_path_factory.mktemp("typed") / ("t.parquet" if fmt == "parquet" else "t.nc")
    try:
        if fmt == "parquet":
            frame.to_parquet(path)
        else:
            import xarray as xr

            xr.Dataset.from_dataframe(frame.rename_axis("sample")).to_netcdf(
                path, engine="h5netcdf"
            )
    except Exception:  # a frame the format cannot store is not a reader test
        assume(False)
    result = outcome(read_table, path)
    if isinstance(result, FlarecastError):
        assert_names_file(result, path)
    else:
        check_dataset(result, path)


def test_event_check_accepts_a_valid_catalogue_and_rejects_a_broken_one():
    synthetic = pytest.importorskip("flarecast.data.synthetic")
    events = synthetic.demo_catalogue(seed=1)
    check_events(events, Path("demo"))
    broken = events.assign(peak=events["start"] - pd.Timedelta("1min"))
    with pytest.raises(AssertionError):
        check_events(broken, Path("demo"))


# --------------------------------------------------------------------------- GOES parser
REAL_CLASSES = ["M1.2", "M1", "x2.4", "X22", "M 99", "B", "////", "--", "X10+", "N", "C9.9", "A1.0"]


@st.composite
def class_strings(draw: st.DrawFn) -> str:
    """Real spellings, mutated: characters inserted, deleted or replaced, other digits and spaces."""
    text = draw(st.sampled_from(REAL_CLASSES))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(text)))
        piece = draw(
            st.sampled_from(
                ["", " ", ".", "+", "-", "0", "9" * 30, "\u0661", "\u00a0", "e5", "Z", "\n"]
            )
            | st.text(max_size=2)
        )
        text = text[:i] + piece + text[i + draw(st.integers(0, 2)) :]
    return text


@settings(FUZZ, max_examples=FUZZ.max_examples * 5)  # cheap: five times the examples
@given(
    values=st.lists(class_strings() | st.text(max_size=12) | st.sampled_from([None, np.nan, 1.5, b"M1"]),
                    max_size=12),
    compact=st.booleans(), allow_none=st.booleans(), allow_missing=st.booleans(),
)  # fmt: skip
def test_goes_parser_returns_finite_fluxes_or_names_the_rows(
    values, compact, allow_none, allow_missing
):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            flux = parse_goes_class(
                values, compact=compact, allow_none=allow_none, allow_missing=allow_missing,
                source="cat.csv", column="cls",
            )  # fmt: skip
        except GOESClassError as exc:
            message = str(exc)
            assert "cat.csv" in message and "'cls'" in message
            assert f"row {int(message.split('row ')[1].split(':')[0])}:" in message
            return
    assert flux.shape == (len(values),) and flux.dtype == float
    missing = np.isnan(flux)
    assert allow_missing or not missing.any()
    assert np.isfinite(flux[~missing]).all() and (flux[~missing] >= 0).all()
    assert allow_none or not (flux == 0).any()
    # Every accepted value is a class whose canonical spelling parses back to the same letter.
    kept = flux[~missing & (flux > 0)]
    assert (class_letter(parse_goes_class(flux_to_class(kept))) == class_letter(kept)).all()


@pytest.mark.parametrize("text", ["M\u0661", "X\u0661\u0662", "X" + "9" * 400, "C\u0663.\u0665"])
def test_goes_parser_refuses_non_ascii_digits_and_overflow(text):
    with pytest.raises(GOESClassError, match=r"row 1: "):
        parse_goes_class(["M1.0", text], source="cat.csv", column="cls")


# --------------------------------------------------------------------------- regressions
def _edit(line: int, field: int, value: str, sep: str = ",") -> Callable[[bytes], bytes]:
    def edit(blob: bytes) -> bytes:
        lines = _lines(blob)
        fields = lines[line].split(sep.encode())
        fields[field] = value.encode()
        lines[line] = sep.encode().join(fields)
        return _join(lines)

    return edit


def _replace(old: str, new: str) -> Callable[[bytes], bytes]:
    return lambda blob: blob.replace(old.encode(), new.encode(), 1)


BY_NAME = {c.name: c for c in CASES}
# (case, edit of its synthetic seed, error type, message): each was found by the fuzzer.
REGRESSIONS = [
    ("table-csv", _replace("USFLUX,R_VALUE", "USFLUX,USFLUX"), "SchemaError",
     r"column name\(s\) \['USFLUX'\] occur more than once in the header"),
    ("umich", _edit(1, 0, "11158,11158"), "DataError",
     r"row 0 has 27 fields but the header has 26: a separator too many"),
    ("flareml-random40", _edit(2, 0, "1,5"), "DataError",
     r"row 1 \(file line 3\) has 17 fields but the header has 16"),
    ("hollanda-data", _edit(3, 7, '"2.5', ";"), "DataError", r"row 2 opens a quote that is never closed"),
    ("table-csv", _edit(2, 0, "9999-12-31T23:59:59Z"), "DataError",
     r"column 'time' has 1 time\(s\) outside 1677-09-2\d \.\. 2262-04-11 \(UTC\).*row 1: '9999-12-31"),
    ("liu2019", _edit(1, 2, "2300-01-01T00:00:00Z"), "DataError",
     r"column 'timestamp' has 1 time\(s\) outside .*row 0: '2300-01-01T00:00:00Z'"),
    ("umich", _edit(2, 3, "1e20"), "DataError", r"column 'T_REC' has 1 Unix time\(s\) outside .*row 1: '1e20'"),
    ("umich", _edit(1, 24, "inf"), "DataError", r"column 'log_intensity' has 1 value\(s\) whose flux 10\*\*x is not finite or >= 1 W m\^-2 \(X10000\): row 0: 'inf'"),
    ("umich", _edit(1, 24, "400"), "DataError", r"column 'log_intensity' .* not finite or >= 1 W m\^-2 \(X10000\): row 0: '400'"),
    ("umich", _edit(3, 0, "1e30"), "DataError", r"column 'NOAA_ar_num' has 1 invalid NOAA region number\(s\): row 2: '1e30'"),
    ("table-csv", _edit(1, 2, "3563.5"), "DataError", r"column 'harpnum' has 1 invalid identifier\(s\): row 0: '3563.5'"),
    ("umich", _edit(1, 24, "0.5"), "DataError", r"column 'log_intensity' .* row 0: '0.5'"),
    ("table-csv", lambda b: b.replace(b"goes_class", b"peak_flux").replace(b",N,", b",1e308,")
                             .replace(b",M1.2,", b",1.2e-5,").replace(b",x2.4,", b",2.4e-4,"),
     "GOESClassError", r"column 'peak_flux' has 1 invalid flux\(es\): row 0: 1e\+308"),
    ("table-csv", _edit(2, 3, "X" + "9" * 300), "GOESClassError",
     r"column 'goes_class' has 1 class\(es\) of X10000 .* row 1: 'X999"),
    ("liu2019", _edit(2, 1, "X" + "9" * 300), "GOESClassError", r"1 peak flux\(es\) outside 0 <= flux < 1 W m\^-2"),
    ("flareml-training", lambda b: b[:11], "SchemaError", r"missing column\(s\) \['TOTUSJH'"),
    ("liu2019", _edit(2, 1, "M\u0661"), "GOESClassError", r"column 'flare': row 1: 'M\u0661'"),
    ("table-parquet", lambda b: b[:27] + bytes([b[27] ^ 4]) + b[28:], "DataError",
     r"column 'time' has 1 time\(s\) outside .*row 0: '11147-08-29T"),
    ("table-parquet", lambda b: b[: len(b) // 2], "DataError", r"cannot be read as parquet"),
    ("table-netcdf", lambda b: b[:96] + bytes([b[96] ^ 1]) + b[97:], "DataError", r"cannot be read as netcdf"),
    ("table-netcdf", lambda b: b[: len(b) // 2], "DataError", r"cannot be read as netcdf"),
]  # fmt: skip


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    ("name", "edit", "error", "message"),
    REGRESSIONS,
    ids=[f"{r[0]}-{i}" for i, r in enumerate(REGRESSIONS)],
)
def test_fuzz_findings_stay_fixed(seeds, name, edit, error, message):
    assert_finding_stays_fixed(seeds, BY_NAME[name], edit, error, message)
