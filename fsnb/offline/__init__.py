"""The DuckDB offline store: sources read in place, point-in-time training sets, pulls for materialization."""
