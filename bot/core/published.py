"""Snapshot files the fitting process publishes for the other processes in a shared MODEL_DIR.

Each published snapshot gets a name of its own next to the serving one (a hard link, so no
copy), which later fits never overwrite: a process loading it can never read half of one
snapshot and half of the next.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path

from recommender.snapshot import metadata_path, read_metadata

log = logging.getLogger(__name__)

PUBLISHED = ".published-"


def publish_file(serving: Path) -> str:
    """Give the serving snapshot (and its sidecar) a fresh published name; returns it."""
    name = f"{serving.stem}{PUBLISHED}{secrets.token_hex(6)}.npz"
    target = serving.with_name(name)
    for source, linked in ((metadata_path(serving), metadata_path(target)), (serving, target)):
        try:
            os.link(source, linked)
        except OSError:  # a file system without hard links
            shutil.copy2(source, linked)
    return name


def drop_published(model_dir: Path, dataset: str, keep: str) -> None:
    """Delete the published snapshots of a dataset other than `keep` (a forgotten member may
    still be in older ones)."""
    for path in model_dir.glob(f"{dataset}{PUBLISHED}*"):
        if path.stem != Path(keep).stem:
            path.unlink(missing_ok=True)


def same_snapshot(one: Path, other: Path) -> bool:
    """Whether two files hold the same fit (same metadata, fit time included)."""
    try:
        return read_metadata(one) == read_metadata(other)
    except (OSError, ValueError):
        return False
