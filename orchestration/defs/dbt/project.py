"""Where the dbt project lives, and making sure its manifest exists before Dagster loads it."""

import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"
# The dbt installed beside this Python (the project's .venv), so nothing needs activating.
_BESIDE = Path(sys.executable).parent / "dbt"
DBT_EXECUTABLE = str(_BESIDE) if _BESIDE.exists() else (shutil.which("dbt") or "dbt")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def parse_manifest() -> None:
    """`dbt parse` into the project's target/, with our dbt (dagster-dbt's own preparer looks
    for `dbt` on PATH, which a fresh clone's un-activated .venv does not put there)."""
    DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE).cli(
        ["parse", "--quiet"], target_path=dbt_project.target_path
    ).wait()


# `dagster dev` re-parses on every load, as dagster-dbt's prepare_if_dev would; anywhere else
# (tests, the CLI, CI's fresh clone) parse once when there is no manifest yet.
if os.environ.get("DAGSTER_IS_DEV_CLI") or not dbt_project.manifest_path.exists():
    parse_manifest()
