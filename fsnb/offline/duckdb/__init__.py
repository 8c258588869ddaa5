"""The DuckDB offline engine: every line of DuckDB SQL in fsnb lives in this folder."""
