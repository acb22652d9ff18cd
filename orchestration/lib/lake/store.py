"""The raw lake: every raw record as Parquet under LAKE_PATH, one writer, atomic commits.

Layout (hive-style, so any engine prunes by folder):
`provider=<p>/entity=<e>/<campaign|day>=<v>/<commit>-<n>.parquet`. A commit's files are
written under `_staging/<commit>/` (outside every entity's folder, so a glob over an entity
never sees them), recorded in the manifest, then moved into place and marked committed
(manifest.py says why that order survives a kill -9). LAKE_PATH is a folder or an object-store
URI (`s3://bucket/prefix`, `gs://…`): files move through pyarrow's filesystems; the manifest and
the staging folder then live on local disk beside the warehouse.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.fs as pafs

from orchestration.lib.ids import is_valid_id
from orchestration.lib.lake.manifest import LakeFile, Manifest
from orchestration.lib.run_lock import run_lock

STAGING = "_staging"
MANIFEST = "_manifest.sqlite"


class LakeError(RuntimeError):
    """The lake cannot be used as asked; the message says what to change."""


def is_uri(root: str) -> bool:
    return "://" in root and not root.startswith("file://")


class Lake:
    def __init__(self, root: str, *, local_dir: Path | None = None) -> None:
        """`root`: LAKE_PATH. `local_dir`: where the manifest and staging live when the lake is
        an object store (required then)."""
        self.root = root.rstrip("/")
        if is_uri(root):
            if local_dir is None:
                raise LakeError("an object-store LAKE_PATH needs a local folder for its manifest")
            self.fs, self.base = pafs.FileSystem.from_uri(self.root)
            self.local = False
            self.manifest_path = local_dir / "lake-manifest.sqlite"
            self.staging_dir = local_dir / "lake-staging"
        else:
            path = Path(self.root.removeprefix("file://")).resolve()
            self.fs, self.base, self.local = pafs.LocalFileSystem(), str(path), True
            self.root = str(path)
            self.manifest_path = path / MANIFEST
            self.staging_dir = path / STAGING
        self.manifest = Manifest(self.manifest_path)

    def location(self, relative: str) -> str:
        """A file as readers name it: an absolute path, or the object-store URI."""
        return f"{self.root}/{relative}"

    @contextmanager
    def writing(self, *, wait_seconds: float = 0.0) -> Iterator[None]:
        """Hold the lake's writer lock: one writer per lake, whatever the entry point."""
        with run_lock(self.manifest_path, wait_seconds=wait_seconds,
                      what=f"the lake at {self.root}"):
            yield

    def new_commit(self) -> str:
        # Time-ordered, so files sort by commit and `ORDER BY path` is the load order.
        return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"

    def staged(self, commit_id: str) -> Path:
        return self.staging_dir / commit_id

    @staticmethod
    def relative_path(provider: str, entity: str, partition_key: str, partition: str,
                      commit_id: str, number: int) -> str:
        for what, value in (("provider", provider), ("entity", entity),
                            ("partition", partition)):
            if not is_valid_id(value):  # a value from the data never becomes a path unchecked
                raise LakeError(f"{what} {value!r} cannot name a lake folder")
        return (f"provider={provider}/entity={entity}/{partition_key}={partition}/"
                f"{commit_id}-{number:04d}.parquet")

    def commit(self, commit_id: str, files: list[LakeFile], note: str) -> None:
        """Make the staged files of `commit_id` current, all of them or none."""
        self.manifest.record(commit_id, note, files)
        self._move(commit_id, [f.path for f in files])
        self.manifest.mark_committed(commit_id)
        shutil.rmtree(self.staged(commit_id), ignore_errors=True)

    def discard(self, commit_id: str) -> None:
        shutil.rmtree(self.staged(commit_id), ignore_errors=True)

    def recover(self) -> int:
        """Finish the commits a killed writer recorded but did not move, and remove what it
        staged and never recorded. Returns the commits finished."""
        finished = 0
        for commit_id, paths in self.manifest.moving().items():
            self._move(commit_id, paths)
            self.manifest.mark_committed(commit_id)
            finished += 1
        if self.staging_dir.exists():
            for leftover in self.staging_dir.iterdir():
                shutil.rmtree(leftover, ignore_errors=True)
        return finished

    def _move(self, commit_id: str, paths: list[str]) -> None:
        for relative in paths:
            source = self.staged(commit_id) / relative
            target = f"{self.base}/{relative}"
            if source.exists():
                parent = target.rsplit("/", 1)[0]
                if self.local:
                    os.makedirs(parent, exist_ok=True)
                    os.replace(source, target)  # atomic per file, on one filesystem
                else:
                    self.fs.create_dir(parent, recursive=True)
                    pafs.copy_files(str(source), target,
                                    source_filesystem=pafs.LocalFileSystem(),
                                    destination_filesystem=self.fs)
                    source.unlink()
            elif self.fs.get_file_info(target).type != pafs.FileType.File:
                raise LakeError(f"lake file {relative} of commit {commit_id} is neither staged "
                                f"nor in place: the lake at {self.root} lost a file")
