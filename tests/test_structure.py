"""The code location's structure: one way in for settings, the daily job runs every asset, and
the layers point one way."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from orchestration.lib.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


def _python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_daily_job_runs_every_asset_and_check_of_the_code_location() -> None:
    """`campaign-analytics sync` runs the job built from the loaded definitions, so an asset
    added under defs/ is run without listing it anywhere else."""
    from orchestration.definitions import build_definitions
    from orchestration.defs.operations.jobs import DAILY_JOB

    settings = load_settings({}, dotenv_path=None, require_credentials=False)
    definitions = build_definitions(settings)
    graph = definitions.resolve_asset_graph()
    job = definitions.resolve_job_def(DAILY_JOB)
    assert set(job.asset_layer.executable_asset_keys) == set(graph.materializable_asset_keys)
    checks = {key.name for key in job.asset_layer.asset_graph.asset_check_keys}
    assert {"freshness", "rejected_share", "stats_reconciliation"} <= checks
    assert set(definitions.resources) == {"exotel", "warehouse", "dbt"}


def test_settings_never_travel_through_the_process_environment() -> None:
    writes = re.compile(r"os\.environ\[[^]]+\]\s*=|os\.environ\.(update|setdefault)\(|os\.putenv")
    offenders = [f"{path.relative_to(ROOT)}:{number}"
                 for path in _python_files("orchestration")
                 for number, line in enumerate(path.read_text().splitlines(), start=1)
                 if writes.search(line)]
    assert offenders == []


def test_lib_never_imports_defs() -> None:
    """lib/ is the lower layer: helpers that know nothing of Dagster's definitions."""
    offenders = []
    for path in _python_files("orchestration/lib"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names
                          if n.startswith(("orchestration.defs", "orchestration.runner",
                                           "orchestration.cli", "orchestration.definitions"))]
    assert offenders == []


def test_intermediate_models_never_read_marts() -> None:
    """dbt layers run staging -> intermediate -> marts: an intermediate model refs only staging,
    intermediate models and seeds."""
    marts = {p.stem for p in (ROOT / "dbt_project/models/marts").glob("*.sql")}
    offenders = [f"{path.name} -> {name}"
                 for path in (ROOT / "dbt_project/models/intermediate").glob("*.sql")
                 for name in re.findall(r"ref\('([^']+)'\)", path.read_text())
                 if name in marts]
    assert offenders == []


def _imports(path: Path) -> list[str]:
    """The orchestration modules a file imports, at any depth of the file."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return [n for n in names if n.startswith("orchestration")]


def test_defs_never_import_the_entry_points() -> None:
    """defs/ (and lib/) never import the runner, the CLI or the definitions: a helper two layers
    need lives in lib/ (the circle definitions -> defs/alerts/sensors -> runner -> definitions
    was one)."""
    entry = ("orchestration.runner", "orchestration.cli", "orchestration.definitions")
    offenders = [f"{path.relative_to(ROOT)}: {name}"
                 for folder in ("orchestration/defs", "orchestration/lib")
                 for path in _python_files(folder) for name in _imports(path)
                 if name.startswith(entry)]
    assert offenders == []


def test_no_module_imports_itself_through_others() -> None:
    """No import circle among the package's modules (imports inside functions included)."""
    modules = {".".join(path.relative_to(ROOT).with_suffix("").parts): path
               for path in _python_files("orchestration")}
    modules = {name.removesuffix(".__init__"): path for name, path in modules.items()}
    graph = {name: {target for imported in _imports(path)
                    for target in (imported, imported.rsplit(".", 1)[0])
                    # a package's __init__ only hands its modules' names on: an import of
                    # the package a module belongs to is no edge
                    if target in modules and target != name
                    and not name.startswith(target + ".")}
             for name, path in modules.items()}
    circles, state = [], dict.fromkeys(graph, 0)

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state[target] == 1:
                circles.append(" -> ".join([*trail[trail.index(target):], target]))
            elif state[target] == 0:
                visit(target, [*trail, target])
        state[name] = 2

    for name in sorted(graph):
        if state[name] == 0:
            visit(name, [name])
    assert circles == []


def test_shared_assets_know_no_provider() -> None:
    """The assets every provider feeds (alerts, audience, callbacks) import no provider's
    folder: what they share (the pull ledger, the rejected-share thresholds) lives in lib/. A
    provider plugs in beside them (architecture.json's nevers)."""
    # A provider: a folder of assets under defs/ with its API client under lib/.
    providers = {p.name for p in (ROOT / "orchestration/defs").iterdir()
                 if (ROOT / "orchestration/lib" / p.name / "client.py").exists()}
    assert "exotel" in providers
    # Ops registers the providers (architecture.json: defs/operations, defs/dbt,
    # defs/warehouse): its jobs select their pulls, its warehouse creates their tables.
    ops = {"operations", "dbt", "warehouse"}
    shared = [p for p in (ROOT / "orchestration/defs").iterdir()
              if p.is_dir() and p.name not in providers | ops | {"__pycache__"}]
    assert {p.name for p in shared} >= {"alerts", "audience", "callbacks"}
    offenders = [f"{path.relative_to(ROOT)}: {name}"
                 for folder in shared for path in _python_files(str(folder.relative_to(ROOT)))
                 for name in _imports(path)
                 if any(name.startswith(f"orchestration.defs.{p}") for p in providers)]
    assert offenders == []
