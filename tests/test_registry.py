"""The data-set registry: entries, checksums of the real files, resolution order, real downloads."""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import pytest
from _http_server import serve

from flarecast.data import registry
from flarecast.data.schema import validate_labelled
from flarecast.data.tables.read import load_dataset
from flarecast.errors import ConfigError, DataError, DataWarning, DownloadError

API_NAMES = {"demo", "umich-6h", "umich-12h", "umich-24h", "umich-36h", "umich-48h", "flareml-2017",
             "hollanda-2019", "liu2019-demo-c", "liu2019-demo-m", "liu2019-demo-m5"}  # fmt: skip
SMALL = "liu2019-demo-c"  # one 58 kB file: quick to serve


@pytest.fixture
def server(data_dir):
    with serve(data_dir) as srv:
        yield srv


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No data folder, an empty cache, no mirror: only what a test sets is used."""
    monkeypatch.delenv(registry.ENV_DATA_DIR, raising=False)
    monkeypatch.delenv(registry.ENV_DATA_URL, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv(registry.ENV_CACHE_DIR, str(cache))
    return cache


def cached_files(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


def test_registry_has_the_agreed_names():
    assert API_NAMES <= set(registry.names())
    assert registry.get_entry("demo").synthetic and not registry.get_entry("umich-24h").synthetic


def test_every_url_is_pinned_raw_github_at_the_provenance_commit(data_dir):
    for entry in registry.registry().values():
        assert entry.licence and entry.citation and entry.description
        for f in entry.files:
            if not f.url:  # derived file without public copy
                assert f.path == "hollanda_sharp_swpc/derived_goes_window_labels.csv"
                continue
            m = re.match(
                r"https://raw\.githubusercontent\.com/([^/]+)/([^/]+)/([0-9a-f]{40})/.+", f.url
            )
            assert m, f.url
            assert m.group(3) == entry.commit
            assert entry.homepage == f"https://github.com/{m.group(1)}/{m.group(2)}"
            provenance = (data_dir / f.path).parent / "PROVENANCE.md"
            assert entry.commit in provenance.read_text(), (entry.name, provenance)


def test_registered_checksums_and_sizes_match_the_real_files(data_dir):
    checked = 0
    for entry in registry.registry().values():
        for f in entry.files:
            blob = (data_dir / f.path).read_bytes()
            assert hashlib.sha256(blob).hexdigest() == f.sha256, f.path
            assert len(blob) == f.size, f.path
            checked += 1
    assert checked >= 14


def test_registered_row_counts_match_what_loads(data_dir):
    for name, entry in registry.registry().items():
        if entry.synthetic:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            ds = load_dataset(name, data_dir=data_dir, download=False)
        assert len(ds.frame) == entry.rows, name
        assert ds.name == name and ds.sha256 == registry.combined_sha256(entry)


def test_combined_sha256():
    single = registry.get_entry("umich-24h")
    assert registry.combined_sha256(single) == single.files[0].sha256
    pair = registry.get_entry("hollanda-2019")
    lines = "".join(f"{f.sha256}  {f.path}\n" for f in pair.files)
    assert registry.combined_sha256(pair) == hashlib.sha256(lines.encode()).hexdigest()
    assert registry.combined_sha256(registry.get_entry("demo")) is None


def test_unknown_name_suggests_close_ones():
    with pytest.raises(
        ConfigError, match=r"Unknown data set 'hollanda-2018'.*Did you mean 'hollanda-2019'"
    ):
        registry.get_entry("hollanda-2018")


def test_data_dir_argument_beats_environment(data_dir, tmp_path, monkeypatch, isolated):
    monkeypatch.setenv(registry.ENV_DATA_DIR, str(tmp_path / "empty"))
    found = registry.locate(SMALL, data_dir=data_dir, download=False)
    assert list(found.values()) == [data_dir / "liu2019_lstm/demo_C_normalized_testing.csv"]
    monkeypatch.setenv(registry.ENV_DATA_DIR, str(data_dir))
    assert registry.locate(SMALL, download=False) == found


def test_missing_everywhere_without_download_is_an_error(isolated):
    with pytest.raises(
        DataError,
        match=r"liu2019_lstm/demo_C_normalized_testing.csv of data set 'liu2019-demo-c' is not in .*fetch it first",
    ):
        registry.locate(SMALL, download=False)


def _copy(data_dir: Path, folder: Path, rel: str, edit=None) -> Path:
    blob = (data_dir / rel).read_bytes()
    target = folder / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(edit(blob) if edit else blob)
    return target


def test_data_dir_files_are_verified(data_dir, tmp_path, isolated):
    rel = registry.get_entry(SMALL).files[0].path
    local = tmp_path / "local"
    _copy(
        data_dir,
        local,
        rel,
        edit=lambda b: b[:100] + (b"9" if b[100:101] != b"9" else b"8") + b[101:],
    )
    with pytest.raises(
        DataError, match=r"has sha256 [0-9a-f]{64} but the registered .* has 76f7a822"
    ):
        registry.locate(SMALL, data_dir=local)
    _copy(data_dir, local, rel, edit=lambda b: b[:-10])
    with pytest.raises(DataError, match=r"has 58261 bytes but the registered .* has 58271"):
        registry.locate(SMALL, data_dir=local)
    assert cached_files(isolated) == []  # a bad local copy is an error, not a silent download


def test_verification_is_cached_per_file_version(data_dir):
    path = data_dir / "liu2019_lstm/demo_M_normalized_testing.csv"
    file = registry.get_entry("liu2019-demo-m").files[0]
    registry.verify_file(path, file)
    before = registry._sha256_cached.cache_info()
    registry.verify_file(path, file)
    after = registry._sha256_cached.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses


def test_download_from_local_server_then_cache(server, isolated):
    found = registry.locate(SMALL, base_url=server.url)
    path = found["liu2019_lstm/demo_C_normalized_testing.csv"]
    assert path == isolated / "liu2019_lstm/demo_C_normalized_testing.csv"
    assert (
        hashlib.sha256(path.read_bytes()).hexdigest() == registry.get_entry(SMALL).files[0].sha256
    )
    assert server.requests == ["liu2019_lstm/demo_C_normalized_testing.csv"]
    registry.locate(SMALL, base_url=server.url)  # now served from the cache
    assert len(server.requests) == 1
    ds = load_dataset(SMALL)  # the cache is found without a data folder
    validate_labelled(ds.frame, ds.name, list(ds.features))
    assert len(ds.frame) == 185


def test_mirror_from_environment(server, isolated, monkeypatch):
    monkeypatch.setenv(registry.ENV_DATA_URL, server.url + "/")
    ds = load_dataset("flareml-2017-train")  # two files, both downloaded
    assert len(ds.frame) == 435
    assert sorted(server.requests) == [
        "flareml_liu2017/flaringar_original_data.csv",
        "flareml_liu2017/flaringar_training_sample.csv",
    ]


@pytest.mark.parametrize(
    ("mode", "cause"),
    [("tamper", "does not match the known hash"), ("truncate", "IncompleteRead")],
)
def test_bad_download_raises_and_leaves_nothing(server, isolated, mode, cause):
    server.mode = mode
    with pytest.raises(
        DownloadError,
        match=rf"Download of liu2019_lstm/demo_C_normalized_testing.csv .* failed.*{cause}.*Nothing was written",
    ):
        registry.locate(SMALL, base_url=server.url)
    assert server.requests  # it really went over HTTP
    assert cached_files(isolated) == []


def test_stale_cache_file_is_replaced(data_dir, server, isolated):
    rel = registry.get_entry(SMALL).files[0].path
    stale = _copy(data_dir, isolated, rel, edit=lambda b: b + b"\n")
    registry.locate(SMALL, base_url=server.url)
    assert stale.read_bytes() == (data_dir / rel).read_bytes()
    # A stale cache file whose re-download also fails is removed, not kept.
    _copy(data_dir, isolated, rel, edit=lambda b: b + b"\n")
    server.mode = "tamper"
    with pytest.raises(DownloadError):
        registry.locate(SMALL, base_url=server.url)
    assert cached_files(isolated) == []


def test_missing_remote_file_and_derived_file(data_dir, server, isolated, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        registry.locate(SMALL, base_url=server.url + "/nowhere")
    # The derived Hollanda labels have no public URL: the message says where to put them.
    local = tmp_path / "local"
    _copy(data_dir, local, "hollanda_sharp_swpc/solar_flare_dataset_2010_2019.csv")
    with pytest.raises(
        DownloadError,
        match=r"derived_goes_window_labels.csv \(data set 'hollanda-2019'\) has no public download.*FLARECAST_DATA_DIR",
    ):
        registry.locate("hollanda-2019", data_dir=local)
    assert cached_files(isolated) == []
    # A mirror laid out like the data folder may serve it.
    found = registry.locate("hollanda-2019", data_dir=local, base_url=server.url)
    assert found["hollanda_sharp_swpc/derived_goes_window_labels.csv"].parent.parent == isolated
    assert server.requests[-1] == "hollanda_sharp_swpc/derived_goes_window_labels.csv"


def test_demo_is_synthetic():
    pytest.importorskip("flarecast.data.synthetic")
    ds = load_dataset("demo")
    assert ds.synthetic
    validate_labelled(ds.frame, ds.name, list(ds.features))
    assert {"N", "X"} <= {c[0] for c in ds.frame["goes_class"]}
