"""Where the dbt project lives, and making sure its manifest exists before Dagster loads it."""

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"
# The dbt installed beside this Python (the project's .venv), so nothing needs activating.
_BESIDE = Path(sys.executable).parent / "dbt"
DBT_EXECUTABLE = str(_BESIDE) if _BESIDE.exists() else (shutil.which("dbt") or "dbt")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# `dagster dev` re-parses on every load; anywhere else (tests, the CLI, CI's fresh clone) parse
# once when there is no manifest yet, so the code location always loads.
dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():
    dbt_project.preparer.prepare(dbt_project)
