"""Running a writer on every partition of a Spark frame, on the executors, with progress from Spark itself.

Each partition's rows reach the writer as Arrow record batches (``spark.sql.execution.arrow.maxRecordsPerBatch``
rows each) while the JVM keeps producing the next ones, so writes are pipelined per partition. The driver receives
one count per partition; live progress comes from a Spark accumulator, which every finished task adds its rows to.
The job runs in its own job group: an interrupt of the driver cancels it, and a failed (or killed, or cancelled)
task fails the whole run with :class:`~fsnb.errors.MaterializationError`, so callers move nothing past it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from fsnb.errors import MaterializationError
from fsnb.offline.spark.session import translate

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

__all__ = ["run_on_partitions"]

#: seconds between two progress reports.
POLL_SECONDS = 0.5


def run_on_partitions(
    frame: DataFrame,
    writer: Callable[[Iterable[pa.RecordBatch]], int],
    *,
    what: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Run ``writer`` on each partition of ``frame``; returns the sum of what the writers returned."""
    from fsnb.errors import FsnbError, OfflineStoreError

    spark = frame.sparkSession
    sc = spark.sparkContext
    rows = sc.accumulator(0)

    def partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        written = writer(_counted(batches, rows))
        yield pa.RecordBatch.from_pydict({"rows": pa.array([written], pa.int64())})

    group = f"fsnb-{uuid.uuid4().hex[:12]}"
    stop = threading.Event()
    reported = [0]

    def report() -> None:
        if progress is None:
            return
        value = int(rows.value)
        if value > reported[0]:
            progress(value - reported[0])
            reported[0] = value

    def poll() -> None:
        while not stop.wait(POLL_SECONDS):
            report()

    poller = threading.Thread(target=poll, name="fsnb-spark-progress", daemon=True)
    poller.start()
    try:
        sc.setJobGroup(group, what, interruptOnCancel=True)
        try:
            with translate(what):
                counts = frame.mapInArrow(partition, "rows long").collect()
        except KeyboardInterrupt:
            sc.cancelJobGroup(group)
            raise
        finally:
            _clear_job_group(sc)
    except OfflineStoreError as e:
        raise MaterializationError(f"{e}; nothing was recorded, so running it again completes the work") from e
    except FsnbError:
        raise
    finally:
        stop.set()
        poller.join()
    report()
    return sum(int(r[0]) for r in counts)


def _counted(batches: Iterator[pa.RecordBatch], rows: Any) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield batch
        rows.add(batch.num_rows)


def _clear_job_group(sc: Any) -> None:
    sc.setLocalProperty("spark.jobGroup.id", None)
    sc.setLocalProperty("spark.job.description", None)
