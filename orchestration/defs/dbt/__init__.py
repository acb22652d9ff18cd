"""The dbt project as Dagster assets (models, seeds) and asset checks (dbt tests)."""
