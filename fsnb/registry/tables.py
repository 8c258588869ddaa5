"""The registry's SQLAlchemy Core tables (SQLite and PostgreSQL alike).

Each definition kind has one table keyed by (project, name) holding the definition's ``to_dict()`` spec as JSON
text; ``fsnb_projects`` holds the version that every apply with changes bumps once. Datetimes are naive UTC.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text

__all__ = [
    "KIND_TABLES",
    "data_sources",
    "entities",
    "feature_services",
    "feature_views",
    "materialization_intervals",
    "metadata",
    "on_demand_feature_views",
    "projects",
]

metadata = MetaData()

projects = Table(
    "fsnb_projects",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("version", BigInteger, nullable=False, default=0),
    Column("updated_at", DateTime, nullable=False),
)


def _object_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("project", String(255), primary_key=True),
        Column("name", String(255), primary_key=True),
        Column("spec", Text, nullable=False),
        Column("updated_at", DateTime, nullable=False),
    )


entities = _object_table("fsnb_entities")
data_sources = _object_table("fsnb_data_sources")
feature_views = _object_table("fsnb_feature_views")
feature_services = _object_table("fsnb_feature_services")
on_demand_feature_views = _object_table("fsnb_on_demand_feature_views")

materialization_intervals = Table(
    "fsnb_materialization_intervals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(255), nullable=False),
    Column("view", String(255), nullable=False),
    Column("start_ts", DateTime, nullable=False),
    Column("end_ts", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_fsnb_mat_project_view", "project", "view"),
)

#: definition kind (``obj.kind``) → its table, in apply order.
KIND_TABLES: dict[str, Table] = {
    "entity": entities,
    "source": data_sources,
    "feature_view": feature_views,
    "on_demand_feature_view": on_demand_feature_views,
    "feature_service": feature_services,
}
