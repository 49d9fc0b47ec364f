"""All-or-nothing file writes, so readers and crashes never see a half-written file."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def _temp_path(path: Path) -> Path:
    """A unique hidden sibling of `path` ending in its suffix (np.savez appends ".npz" else)."""
    return path.with_name(f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Have `write` fill a temp file beside `path`, fsync it, then rename it over `path`.

    The rename is atomic on one filesystem, so `path` holds either the old or the new
    content; the folder is fsynced too (best effort) so the rename survives a power cut.
    The temp file is removed if anything fails.
    """
    path = Path(path)
    tmp = _temp_path(path)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Persist a rename in `folder`; some platforms and filesystems cannot, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        log.debug("cannot open %s to fsync it: %s", folder, exc)
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        log.debug("cannot fsync %s: %s", folder, exc)
    finally:
        os.close(fd)
