"""The DuckDB warehouse: its resource, its one-writer pool and the raw schema."""
