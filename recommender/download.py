"""Locate or download MovieLens datasets: checksum-verified, zip-slip safe, atomically unpacked."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from tqdm import tqdm

log = logging.getLogger(__name__)

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens"
MOVIELENS_DIR_ENV = "MOVIELENS_DIR"
CHUNK_SIZE = 1 << 20
MD5_MAX_BYTES = 4096
USER_AGENT = "als-movie-bot (MovieLens downloader)"

ML100K_FILES = ("u.data", "u.item", "u.genre")
DAT_FILES = ("ratings.dat", "movies.dat")
CSV_FILES = ("ratings.csv", "movies.csv", "links.csv")


class DatasetError(RuntimeError):
    """A dataset is missing, or could not be downloaded and verified; the message says why."""


@dataclass(frozen=True)
class DatasetSpec:
    """A MovieLens dataset: where its zip lives, its folder inside the zip, the files we read."""

    name: str
    archive_folder: str
    files: tuple[str, ...]
    sha256: Mapping[str, str] = field(default_factory=dict)

    @property
    def zip_name(self) -> str:
        """The zip's file name on the server."""
        return f"{self.name}.zip"

    @property
    def url(self) -> str:
        """The official GroupLens download URL."""
        return f"{GROUPLENS_URL}/{self.zip_name}"


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "ml-100k",
            "ml-100k",
            ML100K_FILES,
            sha256={
                "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
                "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
                "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
            },
        ),
        DatasetSpec("ml-1m", "ml-1m", DAT_FILES),
        DatasetSpec("ml-10m", "ml-10M100K", DAT_FILES),
        DatasetSpec("ml-latest-small", "ml-latest-small", CSV_FILES),
        DatasetSpec("ml-latest", "ml-latest", CSV_FILES),
        DatasetSpec("ml-25m", "ml-25m", CSV_FILES),
        DatasetSpec("ml-32m", "ml-32m", CSV_FILES),
    )
}


def resolve_movielens_dir() -> Path | None:
    """The MOVIELENS_DIR environment variable as a path, or None when unset or empty."""
    value = os.environ.get(MOVIELENS_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a known dataset; unknown names raise DatasetError listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(DATASETS)
        raise DatasetError(f"unknown MovieLens dataset {name!r}; known: {known}") from None


def dataset_url(name: str, base_url: str | None = None) -> str:
    """The zip URL of a dataset, on GroupLens or on a mirror at `base_url`."""
    spec = dataset_spec(name)
    return spec.url if base_url is None else f"{base_url.rstrip('/')}/{spec.zip_name}"


def missing_files(folder: Path, files: tuple[str, ...]) -> list[str]:
    """Which of `files` are not regular files in `folder`."""
    return [f for f in files if not (folder / f).is_file()]


def ensure_dataset(
    name: str,
    data_dir: Path,
    movielens_dir: Path | None = None,
    *,
    base_url: str | None = None,
    progress: bool = True,
    checksums: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Return the folder holding a dataset's files, downloading it into data_dir if needed.

    With `movielens_dir` the dataset must already be there (read-only, never downloaded to).
    `checksums` maps file name to sha256 (None: the pinned table); with no sha256 to check, the
    zip is verified against the `.md5` file GroupLens publishes next to it.
    """
    spec = dataset_spec(name)
    if movielens_dir is not None:
        return _local_copy(spec, Path(movielens_dir))
    target = Path(data_dir) / "movielens" / name
    if not missing_files(target, spec.files):
        log.debug("%s already present in %s", name, target)
        return target
    table = dict(spec.sha256 if checksums is None else checksums)
    return _download(spec, target, dataset_url(name, base_url), table, progress, timeout)


def _local_copy(spec: DatasetSpec, movielens_dir: Path) -> Path:
    """The dataset folder inside MOVIELENS_DIR (its own name or the zip's folder name)."""
    candidates = [movielens_dir / spec.name]
    if spec.archive_folder != spec.name:
        candidates.append(movielens_dir / spec.archive_folder)
    for folder in candidates:
        if folder.is_dir() and not missing_files(folder, spec.files):
            log.info("using %s from %s (read-only)", spec.name, folder)
            return folder
    folder = next((c for c in candidates if c.is_dir()), candidates[0])
    if folder.is_dir():
        missing = ", ".join(missing_files(folder, spec.files))
        problem = f"{folder} lacks {missing}"
    else:
        problem = f"there is no folder {folder}"
    raise DatasetError(
        f"{MOVIELENS_DIR_ENV}={movielens_dir} does not hold {spec.name}: {problem} "
        f"(needs {', '.join(spec.files)}). Fix the folder, or unset {MOVIELENS_DIR_ENV} "
        "to download it into the data directory."
    )


def _download(
    spec: DatasetSpec,
    target: Path,
    url: str,
    sha256: dict[str, str],
    progress: bool,
    timeout: float,
) -> Path:
    """Download, verify and unpack a dataset zip; a failure leaves nothing behind in the parent."""
    expected_md5 = None if sha256 else _fetch_md5(f"{url}.md5", timeout)
    parent = target.parent
    created_parent = not parent.exists()
    parent.mkdir(parents=True, exist_ok=True)
    fd, part_name = tempfile.mkstemp(prefix=f".{spec.name}-", suffix=".zip.part", dir=parent)
    part = Path(part_name)
    workdir: Path | None = None
    try:
        log.info("downloading %s from %s into %s", spec.name, url, target)
        with os.fdopen(fd, "wb") as out:
            md5 = _stream(url, out, spec.name, progress, timeout)
        if expected_md5 is not None and md5 != expected_md5:
            raise DatasetError(
                f"md5 mismatch for {url}: got {md5}, {url}.md5 says {expected_md5} "
                "(corrupt download or changed file)"
            )
        workdir = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", suffix=".unzip", dir=parent))
        unpacked = _unpack(part, url, spec, sha256, workdir)
        return _install(unpacked, target, spec)
    finally:
        part.unlink(missing_ok=True)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        if created_parent and not target.exists():
            with contextlib.suppress(OSError):
                parent.rmdir()  # a folder we created, left empty by a failure


def _open(url: str, timeout: float) -> http.client.HTTPResponse:
    """Open a URL, turning HTTP and network errors into DatasetError naming the URL."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DatasetError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise DatasetError(f"could not download {url}: {reason}") from exc


def _fetch_md5(url: str, timeout: float) -> str:
    """The md5 hex digest published at `url`; failing to get one is an error, never a skip."""
    try:
        with _open(url, timeout) as response:
            text = response.read(MD5_MAX_BYTES).decode("ascii", errors="replace")
    except DatasetError as exc:
        raise DatasetError(
            f"cannot verify the download: checksum file unavailable ({exc})"
        ) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DatasetError(f"cannot verify the download: reading {url} failed: {exc}") from exc
    digests = {d.lower() for d in re.findall(r"\b[0-9a-fA-F]{32}\b", text)}
    if len(digests) != 1:
        raise DatasetError(f"cannot verify the download: no single md5 digest in {url}")
    return digests.pop()


def _stream(url: str, out: BinaryIO, label: str, progress: bool, timeout: float) -> str:
    """Copy a URL's body to `out` in chunks with a stderr progress bar; return its md5."""
    md5 = hashlib.md5(usedforsecurity=False)
    received = 0
    with _open(url, timeout) as response:
        header = response.headers.get("Content-Length")
        expected = int(header) if header and header.isdigit() else None
        with tqdm(
            total=expected,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=label,
            file=sys.stderr,
            disable=not progress,
            leave=False,
        ) as bar:
            while True:
                try:
                    chunk = response.read(CHUNK_SIZE)
                except (OSError, http.client.HTTPException) as exc:
                    raise DatasetError(
                        f"download of {url} broke off after {received} bytes: {exc}"
                    ) from exc
                if not chunk:
                    break
                out.write(chunk)
                md5.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if expected is not None and received != expected:
        raise DatasetError(f"download of {url} is incomplete: got {received} of {expected} bytes")
    log.info("downloaded %d bytes from %s", received, url)
    return md5.hexdigest()


def _is_safe_member(name: str) -> bool:
    """Whether a zip entry name stays inside the extraction folder (no absolute path, no ..)."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return False
    return ".." not in PurePosixPath(name).parts


def _unpack(
    archive: Path, url: str, spec: DatasetSpec, sha256: dict[str, str], workdir: Path
) -> Path:
    """Check and extract a dataset zip into workdir; return the folder holding its files."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            unsafe = [m.filename for m in members if not _is_safe_member(m.filename)]
            if unsafe:
                raise DatasetError(f"refusing {url}: unsafe path(s) in zip: {', '.join(unsafe)}")
            prefix = _find_prefix({m.filename for m in members}, spec, url)
            for file_name, digest in sha256.items():
                _check_sha256(zf, prefix + file_name, digest, url)
            root = workdir / "dataset"
            root.mkdir()
            for member in members:
                if member.filename.startswith(prefix) and member.filename != prefix:
                    _extract(zf, member, root / member.filename[len(prefix) :])
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise DatasetError(f"{url} is not a valid zip file: {exc}") from exc
    return root


def _find_prefix(names: set[str], spec: DatasetSpec, url: str) -> str:
    """The folder prefix inside the zip under which all required files sit."""
    for prefix in (f"{spec.archive_folder}/", f"{spec.name}/", ""):
        if all(prefix + f in names for f in spec.files):
            return prefix
    prefix = f"{spec.archive_folder}/"
    missing = ", ".join(f for f in spec.files if prefix + f not in names)
    raise DatasetError(f"{url} lacks required file(s) {missing} (looked under {prefix})")


def _check_sha256(zf: zipfile.ZipFile, member: str, expected: str, url: str) -> None:
    """Hash one zip member and fail if it does not match the pinned sha256."""
    digest = hashlib.sha256()
    try:
        with zf.open(member) as src:
            while chunk := src.read(CHUNK_SIZE):
                digest.update(chunk)
    except KeyError:
        raise DatasetError(f"{url} lacks {member}, which has a pinned checksum") from None
    if digest.hexdigest() != expected.lower():
        raise DatasetError(
            f"checksum mismatch for {member} in {url}: sha256 {digest.hexdigest()}, "
            f"expected {expected}"
        )


def _extract(zf: zipfile.ZipFile, member: zipfile.ZipInfo, dest: Path) -> None:
    """Write one (already vetted) zip member to dest."""
    if member.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(member) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, CHUNK_SIZE)


def _install(unpacked: Path, target: Path, spec: DatasetSpec) -> Path:
    """Move the unpacked folder into place atomically, displacing an incomplete old copy."""
    if target.exists() or target.is_symlink():
        if target.is_dir() and not missing_files(target, spec.files):
            log.info("%s appeared in %s meanwhile; keeping that copy", spec.name, target)
            return target
        stale = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", suffix=".stale", dir=target.parent))
        log.warning("replacing incomplete %s", target)
        os.replace(target, stale / "old")
        try:
            os.replace(unpacked, target)
        finally:
            shutil.rmtree(stale, ignore_errors=True)
    else:
        try:
            os.replace(unpacked, target)
        except OSError:
            if target.is_dir() and not missing_files(target, spec.files):
                return target  # another process installed it first
            raise
    log.info("%s ready in %s", spec.name, target)
    return target
