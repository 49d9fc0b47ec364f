"""Dataset download against a local fake GroupLens server: verify, unpack atomically, fail clean."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from recommender.download import (
    DATASETS,
    DatasetError,
    dataset_url,
    ensure_dataset,
    resolve_movielens_dir,
)
from tests.conftest import real_movielens_dir

# A made-up ml-100k lookalike: a handful of lines in the real formats, not real data.
FAKE_100K = {
    "u.data": b"1\t1\t5\t874965758\n1\t2\t3\t876893171\n2\t1\t4\t888550871\n3\t3\t1\t889237455\n",
    "u.item": (
        b"1|Fake Movie One (1995)|01-Jan-1995||http://example.invalid/1|0|1|0|0|0|0|0|0|0|0|0|0"
        b"|0|0|0|0|0|0|0\n"
        b"2|Fake Movie Two (1996)|01-Jan-1996||http://example.invalid/2|0|0|0|0|0|1|0|0|0|0|0|0"
        b"|0|0|0|0|0|0|0\n"
        b"3|Fake Movie Three (1997)|01-Jan-1997||http://example.invalid/3|0|0|0|0|0|0|0|0|1|0|0"
        b"|0|0|0|0|0|0|0|0\n"
    ),
    "u.genre": b"unknown|0\nAction|1\nComedy|5\nDrama|8\n\n",
    "u1.base": b"1\t1\t5\t874965758\n2\t1\t4\t888550871\n",
}
FAKE_CSV = {
    "ratings.csv": b"userId,movieId,rating,timestamp\n1,1,4.0,964982703\n2,2,3.5,964981247\n",
    "movies.csv": b"movieId,title,genres\n1,Fake One (1995),Comedy\n2,Fake Two (1996),Drama\n",
    "links.csv": b"movieId,imdbId,tmdbId\n1,0000001,11\n2,0000002,22\n",
    "README.txt": b"fake\n",
}
FAKE_DAT = {
    "ratings.dat": b"1::1::5::978300760\n2::2::3::978302109\n",
    "movies.dat": b"1::Fake One (1995)::Comedy\n2::Fake Two (1996)::Drama\n",
}


def sha256(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    """Hex md5 of bytes."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


FAKE_100K_SHA = {name: sha256(FAKE_100K[name]) for name in ("u.data", "u.item", "u.genre")}


def make_zip(files: dict[str, bytes], folder: str = "") -> bytes:
    """A zip holding `files`, each under `folder/` when given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        if folder:
            zf.writestr(f"{folder}/", b"")
        for name, data in files.items():
            zf.writestr(f"{folder}/{name}" if folder else name, data)
    return buffer.getvalue()


@dataclass
class Route:
    """What the fake server answers on one path."""

    body: bytes
    status: int = 200
    claimed_length: int | None = None  # Content-Length to announce (default: the real one)


@dataclass
class FakeGroupLens:
    """A local HTTP server standing in for files.grouplens.org; it records every request."""

    base_url: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def serve(self, path: str, body: bytes, **kwargs: int | None) -> None:
        """Answer `path` with `body` (optionally another status or a lying Content-Length)."""
        self.routes[path] = Route(body, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGroupLens]:
    """A fake GroupLens on 127.0.0.1 (proxies bypassed so nothing leaves the machine)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake = FakeGroupLens()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.requests.append(self.path)
            route = fake.routes.get(self.path, Route(b"not found", status=404))
            self.send_response(route.status)
            length = len(route.body) if route.claimed_length is None else route.claimed_length
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(route.body)  # HTTP/1.0: the connection closes after this

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/datasets"
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def leftovers(data_dir: Path) -> list[str]:
    """Everything under data_dir/movielens, as sorted relative paths (hidden temp files too)."""
    root = data_dir / "movielens"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under folder with its (mtime_ns, size): to prove nothing was written."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in [folder, *folder.rglob("*")]
    }


def assert_failed_cleanly(data_dir: Path) -> None:
    """A failed download left no temp file and no partial folder."""
    assert leftovers(data_dir) == []


def test_download_verifies_and_unpacks(server: FakeGroupLens, tmp_path: Path) -> None:
    server.serve("/datasets/ml-100k.zip", make_zip(FAKE_100K, "ml-100k"))
    folder = ensure_dataset(
        "ml-100k", tmp_path, base_url=server.base_url, progress=False, checksums=FAKE_100K_SHA
    )
    assert folder == tmp_path / "movielens" / "ml-100k"
    for name, data in FAKE_100K.items():
        assert (folder / name).read_bytes() == data
    assert server.requests == ["/datasets/ml-100k.zip"]  # pinned sha256: no .md5 fetch
    assert leftovers(tmp_path) == sorted(["ml-100k", *(f"ml-100k/{n}" for n in FAKE_100K)])


def test_second_call_makes_no_request(server: FakeGroupLens, tmp_path: Path) -> None:
    server.serve("/datasets/ml-100k.zip", make_zip(FAKE_100K, "ml-100k"))
    first = ensure_dataset(
        "ml-100k", tmp_path, base_url=server.base_url, progress=False, checksums=FAKE_100K_SHA
    )
    before = snapshot(first)
    second = ensure_dataset(
        "ml-100k", tmp_path, base_url=server.base_url, progress=False, checksums=FAKE_100K_SHA
    )
    assert second == first
    assert len(server.requests) == 1
    assert snapshot(first) == before


def test_progress_bar_goes_to_stderr_only(
    server: FakeGroupLens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.serve("/datasets/ml-100k.zip", make_zip(FAKE_100K, "ml-100k"))
    ensure_dataset(
        "ml-100k", tmp_path, base_url=server.base_url, progress=True, checksums=FAKE_100K_SHA
    )
    out, err = capsys.readouterr()
    assert out == ""
    assert "ml-100k" in err


def test_incomplete_existing_folder_is_replaced(server: FakeGroupLens, tmp_path: Path) -> None:
    stale = tmp_path / "movielens" / "ml-100k"
    stale.mkdir(parents=True)
    (stale / "u.data").write_bytes(b"half\n")
    server.serve("/datasets/ml-100k.zip", make_zip(FAKE_100K, "ml-100k"))
    folder = ensure_dataset(
        "ml-100k", tmp_path, base_url=server.base_url, progress=False, checksums=FAKE_100K_SHA
    )
    assert (folder / "u.data").read_bytes() == FAKE_100K["u.data"]
    assert (folder / "u.genre").read_bytes() == FAKE_100K["u.genre"]
    assert [p for p in leftovers(tmp_path) if "/" not in p] == ["ml-100k"]


def test_pinned_checksums_reject_other_content(server: FakeGroupLens, tmp_path: Path) -> None:
    server.serve("/datasets/ml-100k.zip", make_zip(FAKE_100K, "ml-100k"))
    with pytest.raises(DatasetError, match=r"checksum mismatch for ml-100k/u\.data"):
        ensure_dataset("ml-100k", tmp_path, base_url=server.base_url, progress=False)
    assert_failed_cleanly(tmp_path)


def test_injected_checksum_mismatch(server: FakeGroupLens, tmp_path: Path) -> None:
    server.serve("/datasets/ml-100k.zip", make_zip(FAKE_100K, "ml-100k"))
    wrong = {**FAKE_100K_SHA, "u.genre": "0" * 64}
    with pytest.raises(DatasetError, match=r"u\.genre.*ml-100k\.zip") as info:
        ensure_dataset(
            "ml-100k", tmp_path, base_url=server.base_url, progress=False, checksums=wrong
        )
    assert "0" * 64 in str(info.value)
    assert_failed_cleanly(tmp_path)
    assert not (tmp_path / "movielens").exists()  # the folder we created is gone too


def test_truncated_response(server: FakeGroupLens, tmp_path: Path) -> None:
    body = make_zip(FAKE_100K, "ml-100k")
    server.serve("/datasets/ml-100k.zip", body[:100], claimed_length=len(body))
    with pytest.raises(DatasetError, match=rf"incomplete: got 100 of {len(body)} bytes") as info:
        ensure_dataset(
            "ml-100k", tmp_path, base_url=server.base_url, progress=False, checksums=FAKE_100K_SHA
        )
    assert f"{server.base_url}/ml-100k.zip" in str(info.value)
    assert_failed_cleanly(tmp_path)


def test_http_404_names_the_url(server: FakeGroupLens, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="HTTP 404") as info:
        ensure_dataset(
            "ml-100k", tmp_path, base_url=server.base_url, progress=False, checksums=FAKE_100K_SHA
        )
    assert f"{server.base_url}/ml-100k.zip" in str(info.value)
    assert_failed_cleanly(tmp_path)


def test_connection_refused_names_the_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nobody listens
    base = f"http://127.0.0.1:{port}"
    with pytest.raises(DatasetError, match=rf"could not download {base}/ml-100k\.zip"):
        ensure_dataset(
            "ml-100k", tmp_path, base_url=base, progress=False, checksums=FAKE_100K_SHA, timeout=5
        )
    assert_failed_cleanly(tmp_path)


def test_corrupt_zip(server: FakeGroupLens, tmp_path: Path) -> None:
    server.serve("/datasets/ml-100k.zip", b"<html>this is not a zip</html>" * 50)
    with pytest.raises(DatasetError, match=r"ml-100k\.zip is not a valid zip"):
        ensure_dataset(
            "ml-100k", tmp_path, base_url=server.base_url, progress=False, checksums=FAKE_100K_SHA
        )
    assert_failed_cleanly(tmp_path)


def test_damaged_member_fails_crc(server: FakeGroupLens, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for name, data in FAKE_100K.items():
            zf.writestr(f"ml-100k/{name}", data)
        zf.writestr("ml-100k/u2.base", b"x" * 500)  # not checksummed: only the CRC catches it
    body = bytearray(buffer.getvalue())
    body[body.index(b"x" * 500) + 250] = ord("y")
    server.serve("/datasets/ml-100k.zip", bytes(body))
    with pytest.raises(DatasetError, match=r"not a valid zip.*CRC"):
        ensure_dataset(
            "ml-100k", tmp_path, base_url=server.base_url, progress=False, checksums=FAKE_100K_SHA
        )
    assert_failed_cleanly(tmp_path)


def test_zip_missing_required_file(server: FakeGroupLens, tmp_path: Path) -> None:
    files = {k: v for k, v in FAKE_100K.items() if k != "u.genre"}
    server.serve("/datasets/ml-100k.zip", make_zip(files, "ml-100k"))
    checksums = {k: v for k, v in FAKE_100K_SHA.items() if k != "u.genre"}
    with pytest.raises(DatasetError, match=r"ml-100k\.zip lacks required file\(s\) u\.genre"):
        ensure_dataset(
            "ml-100k", tmp_path, base_url=server.base_url, progress=False, checksums=checksums
        )
    assert_failed_cleanly(tmp_path)


@pytest.mark.parametrize("evil", ["../evil.txt", "ml-100k/../../evil.txt", "/tmp/evil.txt"])
def test_zip_slip_entry_rejected(server: FakeGroupLens, tmp_path: Path, evil: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in FAKE_100K.items():
            zf.writestr(f"ml-100k/{name}", data)
        zf.writestr(zipfile.ZipInfo(evil), b"owned\n")
    assert evil in zipfile.ZipFile(io.BytesIO(buffer.getvalue())).namelist()
    server.serve("/datasets/ml-100k.zip", buffer.getvalue())
    data_dir = tmp_path / "deep" / "data"
    with pytest.raises(DatasetError, match="unsafe path") as info:
        ensure_dataset(
            "ml-100k", data_dir, base_url=server.base_url, progress=False, checksums=FAKE_100K_SHA
        )
    assert evil in str(info.value)
    assert not list(tmp_path.rglob("evil.txt"))
    assert_failed_cleanly(data_dir)


def test_movielens_dir_used_without_request_or_write(
    server: FakeGroupLens, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "readonly"
    (source / "ml-100k").mkdir(parents=True)
    for name, data in FAKE_100K.items():
        (source / "ml-100k" / name).write_bytes(data)
    before = snapshot(source)
    monkeypatch.setenv("MOVIELENS_DIR", str(source))
    data_dir = tmp_path / "data"
    folder = ensure_dataset(
        "ml-100k", data_dir, resolve_movielens_dir(), base_url=server.base_url, progress=False
    )
    assert folder == source / "ml-100k"
    assert server.requests == []
    assert snapshot(source) == before
    assert not data_dir.exists()


def test_movielens_dir_missing_dataset(server: FakeGroupLens, tmp_path: Path) -> None:
    source = tmp_path / "readonly"
    source.mkdir()
    before = snapshot(source)
    with pytest.raises(DatasetError, match="MOVIELENS_DIR") as info:
        ensure_dataset("ml-1m", tmp_path / "data", source, base_url=server.base_url)
    message = str(info.value)
    assert str(source / "ml-1m") in message and "ratings.dat" in message
    assert server.requests == []
    assert snapshot(source) == before
    assert not (tmp_path / "data").exists()


def test_movielens_dir_incomplete_dataset_names_missing_file(
    server: FakeGroupLens, tmp_path: Path
) -> None:
    source = tmp_path / "readonly"
    (source / "ml-100k").mkdir(parents=True)
    (source / "ml-100k" / "u.data").write_bytes(FAKE_100K["u.data"])
    (source / "ml-100k" / "u.item").write_bytes(FAKE_100K["u.item"])
    with pytest.raises(DatasetError, match=r"ml-100k lacks u\.genre"):
        ensure_dataset("ml-100k", tmp_path / "data", source, base_url=server.base_url)
    assert server.requests == []


def test_movielens_dir_accepts_zip_folder_name(server: FakeGroupLens, tmp_path: Path) -> None:
    source = tmp_path / "readonly"
    (source / "ml-10M100K").mkdir(parents=True)
    for name, data in FAKE_DAT.items():
        (source / "ml-10M100K" / name).write_bytes(data)
    folder = ensure_dataset("ml-10m", tmp_path / "data", source, base_url=server.base_url)
    assert folder == source / "ml-10M100K"
    assert server.requests == []


def test_ml10m_folder_is_renamed(server: FakeGroupLens, tmp_path: Path) -> None:
    body = make_zip(FAKE_DAT, "ml-10M100K")
    server.serve("/datasets/ml-10m.zip", body)
    server.serve("/datasets/ml-10m.zip.md5", f"{md5(body)}  ml-10m.zip\n".encode())
    folder = ensure_dataset("ml-10m", tmp_path, base_url=server.base_url, progress=False)
    assert folder == tmp_path / "movielens" / "ml-10m"
    assert (folder / "ratings.dat").read_bytes() == FAKE_DAT["ratings.dat"]
    assert (folder / "movies.dat").read_bytes() == FAKE_DAT["movies.dat"]
    assert [p for p in leftovers(tmp_path) if "/" not in p] == ["ml-10m"]


@pytest.mark.parametrize(
    "md5_text",
    [
        "{digest}  ml-latest-small.zip\n",
        "{digest}\n",
        "MD5 (ml-latest-small.zip) = {digest}\n",
        "{upper}  ml-latest-small.zip\r\n",
    ],
)
def test_md5_companion_verifies_csv_dataset(
    server: FakeGroupLens, tmp_path: Path, md5_text: str
) -> None:
    body = make_zip(FAKE_CSV, "ml-latest-small")
    digest = md5(body)
    server.serve("/datasets/ml-latest-small.zip", body)
    text = md5_text.format(digest=digest, upper=digest.upper())
    server.serve("/datasets/ml-latest-small.zip.md5", text.encode())
    folder = ensure_dataset("ml-latest-small", tmp_path, base_url=server.base_url, progress=False)
    assert folder == tmp_path / "movielens" / "ml-latest-small"
    for name, data in FAKE_CSV.items():
        assert (folder / name).read_bytes() == data
    assert server.requests == [
        "/datasets/ml-latest-small.zip.md5",
        "/datasets/ml-latest-small.zip",
    ]


def test_md5_mismatch_fails_cleanly(server: FakeGroupLens, tmp_path: Path) -> None:
    body = make_zip(FAKE_CSV, "ml-latest-small")
    server.serve("/datasets/ml-latest-small.zip", body)
    server.serve("/datasets/ml-latest-small.zip.md5", f"{md5(b'other')}  x.zip\n".encode())
    with pytest.raises(DatasetError, match=r"md5 mismatch for .*ml-latest-small\.zip") as info:
        ensure_dataset("ml-latest-small", tmp_path, base_url=server.base_url, progress=False)
    assert md5(body) in str(info.value)
    assert_failed_cleanly(tmp_path)


def test_md5_unavailable_is_an_error_not_a_skip(server: FakeGroupLens, tmp_path: Path) -> None:
    server.serve("/datasets/ml-latest-small.zip", make_zip(FAKE_CSV, "ml-latest-small"))
    with pytest.raises(DatasetError, match=r"cannot verify.*ml-latest-small\.zip\.md5.*404"):
        ensure_dataset("ml-latest-small", tmp_path, base_url=server.base_url, progress=False)
    assert "/datasets/ml-latest-small.zip" not in server.requests  # failed before the big fetch
    assert_failed_cleanly(tmp_path)


def test_md5_file_without_digest_is_an_error(server: FakeGroupLens, tmp_path: Path) -> None:
    server.serve("/datasets/ml-latest-small.zip", make_zip(FAKE_CSV, "ml-latest-small"))
    server.serve("/datasets/ml-latest-small.zip.md5", b"<html>maintenance</html>")
    with pytest.raises(DatasetError, match="no single md5 digest"):
        ensure_dataset("ml-latest-small", tmp_path, base_url=server.base_url, progress=False)
    assert_failed_cleanly(tmp_path)


def test_unknown_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"unknown MovieLens dataset 'ml-7k'.*ml-100k"):
        ensure_dataset("ml-7k", tmp_path, progress=False)
    assert not (tmp_path / "movielens").exists()


def test_resolve_movielens_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MOVIELENS_DIR", raising=False)
    assert resolve_movielens_dir() is None
    monkeypatch.setenv("MOVIELENS_DIR", "")
    assert resolve_movielens_dir() is None
    monkeypatch.setenv("MOVIELENS_DIR", str(tmp_path))
    assert resolve_movielens_dir() == tmp_path


def test_dataset_table() -> None:
    assert set(DATASETS) == {
        "ml-100k",
        "ml-1m",
        "ml-10m",
        "ml-latest-small",
        "ml-latest",
        "ml-25m",
        "ml-32m",
    }
    for name, spec in DATASETS.items():
        assert spec.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
        assert dataset_url(name) == spec.url
    assert dataset_url("ml-1m", "http://mirror/x/") == "http://mirror/x/ml-1m.zip"
    assert DATASETS["ml-100k"].files == ("u.data", "u.item", "u.genre")
    assert set(DATASETS["ml-100k"].sha256) == {"u.data", "u.item", "u.genre"}
    assert DATASETS["ml-10m"].archive_folder == "ml-10M100K"
    assert DATASETS["ml-1m"].files == DATASETS["ml-10m"].files == ("ratings.dat", "movies.dat")
    for name in ("ml-latest-small", "ml-latest", "ml-25m", "ml-32m"):
        assert DATASETS[name].files == ("ratings.csv", "movies.csv", "links.csv")
        assert not DATASETS[name].sha256  # verified through the .md5 companion


@pytest.mark.realdata
def test_pinned_sha256_match_real_ml100k() -> None:
    folder = real_movielens_dir()
    if folder is None:
        pytest.skip("real MovieLens 100K absent: set MOVIELENS_DIR to a folder with ml-100k/")
    for name, digest in DATASETS["ml-100k"].sha256.items():
        assert sha256((folder / "ml-100k" / name).read_bytes()) == digest, name
