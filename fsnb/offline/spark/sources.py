"""Reading data sources in place with Spark: a DataFrame per source, event times as UTC microseconds.

- Parquet / CSV: local paths (a file, a folder read recursively, a glob) and URLs Spark's file systems read
  (``s3a://``, ``hdfs://``, ``gs://``...). Parquet files are merged by column name (pushed files may add columns).
- ``DuckDBSource(table=...)`` without ``database``: a table of Spark's catalog (Hive metastore, Unity, ...);
  ``DuckDBSource(query=...)``: a Spark SQL query. A DuckDB database file cannot be read by Spark.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from fsnb.definitions import CsvSource, DataSource, DuckDBSource, ParquetSource
from fsnb.errors import OfflineStoreError
from fsnb.offline.files import source_paths

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

    from fsnb.config import Config

__all__ = ["arrow_schema", "event_micros", "source_frame"]


def source_frame(spark: SparkSession, source: DataSource, config: Config) -> DataFrame:
    """A DataFrame over ``source`` (a PushSource reads its batch source); nothing is read until an action."""
    batch = source.batch_source
    if isinstance(batch, ParquetSource):
        paths = source_paths(batch, config)  # checks local files exist
        reader = spark.read
        local = str(config.resolve_path(batch.path)) if "://" not in batch.path else ""
        ext = "csv" if isinstance(batch, CsvSource) else "parquet"
        if local and os.path.isdir(local):  # every file of the format under the folder
            paths = [local]
            reader = reader.option("recursiveFileLookup", "true").option("pathGlobFilter", f"*.{ext}")
        if isinstance(batch, CsvSource):
            return reader.option("header", "true").option("inferSchema", "true").csv(paths)
        return reader.option("mergeSchema", "true").parquet(*paths)
    if isinstance(batch, DuckDBSource):
        if batch.query is not None:
            return spark.sql(batch.query)
        if batch.database:
            raise OfflineStoreError(
                f"DuckDBSource {batch.name!r} reads the DuckDB file {batch.database!r}, which Spark cannot read: "
                "export the table to Parquet, or name a table of Spark's catalog (table= without database=)"
            )
        assert batch.table is not None
        return spark.table(batch.table)
    raise OfflineStoreError(f"source {batch.name!r} of type {type(batch).__name__} cannot be read by Spark")


def event_micros(column: str, data_type: DataType) -> Column:
    """Column ``column`` of ``data_type`` as µs since the epoch (UTC; naive times are UTC).

    Handles TIMESTAMP (and TIMESTAMP_NTZ), DATE, integer epoch seconds and ISO text.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    col = F.col(_quote(column))
    if isinstance(data_type, T.TimestampType):
        return F.unix_micros(col)
    if isinstance(data_type, (T.TimestampNTZType, T.DateType, T.StringType)):
        return F.unix_micros(col.cast("timestamp"))  # in the session's time zone, UTC
    if isinstance(data_type, T.IntegralType):
        return col.cast("long") * F.lit(1_000_000)
    raise OfflineStoreError(f"column {column!r} is {data_type.simpleString()}, not a timestamp, date or epoch seconds")


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def arrow_schema(schema: StructType) -> pa.Schema:
    """The Arrow schema of a Spark schema (timestamps in UTC)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema, timezone="UTC")
