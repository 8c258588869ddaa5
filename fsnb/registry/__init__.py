"""The SQL registry: stored definitions, snapshots, apply plans. Import submodules directly (they load SQLAlchemy)."""
