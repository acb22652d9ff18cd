"""Print any mart column whose type or description is missing from the marts' YAML files.

    python dbt_project/scripts/describe_marts.py WAREHOUSE.duckdb

Used when adding columns: contracts are enforced, so every column needs its exact data type.
"""

import sys
from pathlib import Path

import duckdb
import yaml

models = [m for path in sorted((Path(__file__).parent.parent / "models/marts").glob("*.yml"))
          for m in yaml.safe_load(path.read_text()).get("models", [])]
declared = {m["name"]: {c["name"]: c for c in m.get("columns", [])} for m in models}
con = duckdb.connect(sys.argv[1], read_only=True)
for table, column, data_type in con.execute(
    "SELECT table_name, column_name, data_type FROM information_schema.columns "
    "WHERE table_schema = 'marts' AND table_name NOT IN ('dim_error_codes', 'health_thresholds') "
    "ORDER BY table_name, "
    "ordinal_position"
).fetchall():
    entry = declared.get(table, {}).get(column)
    if entry is None or entry.get("data_type", "").lower() != data_type.lower():
        print(f"{table}.{column}: {data_type} (declared: {entry and entry.get('data_type')})")
