"""Shared code used by the Dagster definitions, the CLI and the sandbox."""
