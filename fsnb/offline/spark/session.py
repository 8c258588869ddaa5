"""The Spark session an engine runs on, and the one place Spark errors are translated.

One ``SparkContext`` serves a whole process (Spark allows no more): every engine built from a config shares it
(``getOrCreate``), each through its own ``newSession()`` in UTC, so temporary views and SQL settings of one engine
never leak into another or into the caller's session. Closing an engine does not stop the shared context;
:func:`stop_spark` does.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fsnb.errors import ConfigError, FsnbError, OfflineStoreError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from fsnb.config import OfflineStoreConfig

__all__ = ["DEFAULT_CONF", "engine_session", "stop_spark", "translate"]

#: settings of a session the engine creates itself (``offline_store.conf`` overrides any of them).
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def _pyspark() -> Any:
    try:
        import pyspark
    except ImportError:  # pragma: no cover - depends on the installation
        raise ConfigError(
            "offline_store.type is spark but pyspark is not installed: pip install 'fsnb[spark]' (and Java 17)"
        ) from None
    return pyspark


def engine_session(config: OfflineStoreConfig, given: SparkSession | None = None) -> SparkSession:
    """A session of its own for one engine: over ``given``'s context, else over the process's active (or a new)
    one built from ``master`` and ``conf``; SQL times in UTC."""
    _pyspark()
    import warnings

    from pyspark.sql import SparkSession

    # pyspark 4 warns on every import under pandas 3; fsnb's conformance suite runs it on pandas 3
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

    with translate("starting Spark"):
        base = given
        if base is None:
            from pyspark import SparkContext

            if SparkContext._active_spark_context is not None:  # the process's context: shared, settings kept
                base = SparkSession.builder.getOrCreate()
            else:
                # Python workers must run the driver's interpreter (where fsnb is installed)
                os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
                builder = SparkSession.builder.appName("fsnb").master(config.master or "local[*]")
                for key, value in {**DEFAULT_CONF, **{k: _text(v) for k, v in config.conf.items()}}.items():
                    builder = builder.config(key, value)
                base = builder.getOrCreate()
                base.sparkContext.setLogLevel("ERROR")  # fsnb reports failures itself
        session = base.newSession()
        session.conf.set("spark.sql.session.timeZone", "UTC")
        session.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
        for key, value in config.conf.items():  # runtime SQL settings apply to a shared context too
            if key.startswith("spark.sql.") and not _static(key):
                session.conf.set(key, _text(value))
        return session


def _static(key: str) -> bool:
    return key.startswith(("spark.sql.warehouse", "spark.sql.catalogImplementation", "spark.sql.extensions"))


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def stop_spark() -> None:
    """Stop the process's Spark context (every Spark engine of the process stops working)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


@contextlib.contextmanager
def translate(what: str) -> Iterator[None]:
    """Run a block, turning Spark (and Py4J, pyarrow) errors into ``OfflineStoreError`` saying ``what`` failed."""
    try:
        yield
    except FsnbError:
        raise
    except Exception as e:
        module = type(e).__module__
        if module.startswith(("pyspark", "py4j", "pyarrow")):
            raise OfflineStoreError(f"{what} failed in Spark: {_first_line(e)}") from e
        raise


def _first_line(e: BaseException) -> str:
    """The line of a Spark error that says what went wrong: a Python worker's exception (the last line of its
    traceback), else the JVM's first exception message, else the error's first line."""
    import re

    text = str(e).strip()
    if "Traceback (most recent call last)" in text:
        raised = re.findall(r"^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt)\b:?.*)$", text, re.MULTILINE)
        if raised:
            return raised[-1].strip()[:2000]
    java = re.search(r"((?:[a-z]\w*\.)+[A-Z]\w*(?:Exception|Error)\b:.*)", text)
    if java:
        return java.group(1).strip()[:2000]
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:2000]
    return type(e).__name__
