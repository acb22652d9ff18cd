"""The bundled sandbox API: a deterministic synthetic Exotel-style account served on loopback."""

from orchestration.sandbox.generator import AccountConfig
from orchestration.sandbox.server import Faults, SandboxServer

__all__ = ["AccountConfig", "Faults", "SandboxServer"]
