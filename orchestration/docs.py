"""`campaign-analytics docs`: dbt's documentation site (models, columns, tests, lineage) for this
warehouse, with the vars a run gives dbt, so nothing is copied by hand.

`dbt docs generate --static` writes one self-contained page (it opens from disk, no server);
`--serve` also serves the site (index.html) on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from orchestration.defs.dbt.project import DBT_LAUNCHER, dbt_vars
from orchestration.lib.rules import DBT_PROJECT_DIR
from orchestration.lib.settings import ConfigError, Settings
from orchestration.runner import PipelineError, exclusive_run

DOCS_TARGET = "target/docs"  # inside dbt_project/, beside the builds' folders


def generate_docs(settings: Settings) -> Path:
    """The static documentation page, from the warehouse's catalog (held like a run: dbt opens
    the file to read its tables)."""
    if not settings.warehouse_path.exists():
        raise ConfigError(f"no warehouse at {settings.warehouse_path} (WAREHOUSE_PATH) yet: run "
                          "`campaign-analytics sync` (or `demo`, then WAREHOUSE_PATH="
                          "data/demo/warehouse.duckdb) first")
    with exclusive_run(settings):
        _dbt("generate", "--static", *dbt_vars(settings))
    return Path(DBT_PROJECT_DIR) / DOCS_TARGET / "static_index.html"


def serve_docs(port: int) -> None:
    """Serve the generated site on 127.0.0.1 until interrupted (what `dbt docs serve` does, without
    its traceback on Ctrl-C or a log line per file)."""
    folder = Path(DBT_PROJECT_DIR) / DOCS_TARGET

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass

    with ThreadingHTTPServer(("127.0.0.1", port), Quiet) as server:
        server.serve_forever()


def _dbt(command: str, *args: str) -> None:
    result = subprocess.run(  # noqa: S603 - our own dbt, fixed arguments
        [DBT_LAUNCHER, "--no-use-colors", "docs", command, "--target-path", DOCS_TARGET, *args],
        cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in (result.stdout or "").splitlines() if "rror" in line]
        raise PipelineError(f"dbt docs {command} failed"
                            + (f": {lines[-1].strip()}" if lines else "")
                            + f" (full log: {Path(DBT_PROJECT_DIR) / DOCS_TARGET}/dbt.log)")
