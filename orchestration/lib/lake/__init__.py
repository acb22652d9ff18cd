"""Raw records as Parquet: the lake (store.py) and its manifest (manifest.py)."""

from orchestration.lib.lake.manifest import LakeFile, Manifest
from orchestration.lib.lake.store import Lake, LakeError

__all__ = ["Lake", "LakeError", "LakeFile", "Manifest"]
