"""Where the dbt project lives, what it is told about a run, and making sure its manifest exists
before Dagster loads it."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from pathlib import Path

import duckdb
from dagster_dbt import DbtCliResource, DbtProject

from orchestration.lib.build_inputs import build_sources, fingerprint, project_checksum
from orchestration.lib.rules import DBT_PROJECT_DIR
from orchestration.lib.settings import Settings, load_settings

# The dbt installed beside this Python (the project's .venv), so nothing needs activating.
_BESIDE = Path(sys.executable).parent / "dbt"
DBT_EXECUTABLE = str(_BESIDE) if _BESIDE.exists() else (shutil.which("dbt") or "dbt")
# The same dbt, started through a launcher that dies with the run (defs/dbt/child.py), so a
# killed run never leaves dbt holding the warehouse. Installed with the package.
_LAUNCHER = Path(sys.executable).parent / "campaign-analytics-dbt"
DBT_LAUNCHER = str(_LAUNCHER) if _LAUNCHER.exists() and _BESIDE.exists() else DBT_EXECUTABLE

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def build_fingerprint(con: duckdb.DuckDBPyConnection, settings: Settings) -> str:
    """What a build and publish of this project would be made from now (lib/build_inputs.py):
    the raw records, the models, dbt's vars and how the copy is published."""
    from orchestration.lib.audience.lookup import fingerprint as key_fingerprint
    from orchestration.lib.audience.lookup import lookup_key

    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    options = {"dbt": json.loads(dbt_vars(settings)[1]),
               "phone_numbers": settings.publish_phone_numbers,
               "finalization_hours": settings.dlr_finalization_hours,
               "lookup_key": key_fingerprint(lookup_key(settings))}
    return fingerprint(con, build_sources(manifest), project_checksum(manifest), options)


def dbt_vars(settings: Settings) -> list[str]:
    """`--vars` for a dbt command: the settings dbt's profile and models read. dbt runs from
    dbt_project/, so the warehouse path is made absolute."""
    values = {"warehouse_path": str(settings.warehouse_path.resolve()),
              "account_timezone": settings.account_timezone,
              "attribution_window_days": settings.attribution_window_days,
              "revenue_currency": settings.revenue_currency,
              "sms_credit_price": settings.sms_credit_price,
              "voice_pulse_price": settings.voice_pulse_price,
              "brevo_credit_price": settings.brevo_credit_price,
              "reply_window_days": settings.reply_window_days,
              "unsubscribe_keywords": list(settings.unsubscribe_keywords)}
    return ["--vars", json.dumps(values)]


# What stays of a finished build, in dbt_project/target/last_build/ (README, Troubleshooting):
# its results and its log (dagster-dbt writes dbt's log into the build's folder). Folders a
# killed run left behind go after a day.
LAST_BUILD = "last_build"
KEPT_ARTIFACTS = ("run_results.json", "manifest.json", "dbt.log")
ABANDONED_AFTER_SECONDS = 24 * 3600


def keep_last_build(invocation_dir: Path, target: Path | None = None) -> None:
    """Move a finished invocation's results to target/last_build/ and delete its folder; delete
    other invocations' folders not touched for a day (a killed run's)."""
    import time

    target = Path(target or dbt_project.target_path)
    if not target.is_absolute():  # DbtProject keeps it relative to the project
        target = Path(dbt_project.project_dir) / target
    if invocation_dir.resolve().parent != target.resolve() or not invocation_dir.is_dir():
        return
    last = target / LAST_BUILD
    last.mkdir(exist_ok=True)
    for name in KEPT_ARTIFACTS:
        found = next(invocation_dir.rglob(name), None)
        if found is not None:
            os.replace(found, last / name)  # atomic per file: a reader sees one build's file
    shutil.rmtree(invocation_dir, ignore_errors=True)
    cutoff = time.time() - ABANDONED_AFTER_SECONDS
    for folder in target.glob("*-*-*"):
        if folder.is_dir() and folder.name != LAST_BUILD and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def dbt_resource() -> DbtCliResource:
    # Colour codes only where a person is watching a terminal.
    flags = [] if sys.stdout.isatty() else ["--no-use-colors"]
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_LAUNCHER,
                          global_config_flags=flags)


def parse_manifest() -> None:
    """`dbt parse` into the project's target/, with our dbt (dagster-dbt's own preparer looks
    for `dbt` on PATH, which a fresh clone's un-activated .venv does not put there). Parsing
    reads no data, so the default settings do."""
    defaults = load_settings({}, dotenv_path=None, require_credentials=False)
    dbt_resource().cli(["parse", "--quiet", *dbt_vars(defaults)],
                       target_path=dbt_project.target_path).wait()


def manifest_is_stale() -> bool:
    """No manifest yet, or a model, macro, seed, test or project file changed since it was
    parsed: Dagster would otherwise load yesterday's graph and fail on a node it lacks."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    parsed = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml",
               *(path for folder in ("models", "macros", "seeds", "tests")
                 for path in (DBT_PROJECT_DIR / folder).rglob("*") if path.is_file())]
    return any(path.stat().st_mtime > parsed for path in sources)


def prepare_manifest(*, always: bool = False) -> None:
    """Parse when asked to or when the manifest is stale, one process at a time: processes that
    load the code location together (the UI and a CLI run, parallel test workers) would
    otherwise write target/ at once, and one could read a half-written manifest."""
    lock_path = Path(dbt_project.manifest_path).parent / ".parse.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if always or manifest_is_stale():
            parse_manifest()


# `dagster dev` re-parses on every load, as dagster-dbt's prepare_if_dev would; anywhere else
# (tests, the CLI, CI's fresh clone) parse when the manifest is missing or older than the project.
prepare_manifest(always=bool(os.environ.get("DAGSTER_IS_DEV_CLI")))
