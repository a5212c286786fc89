"""Turning a failed warehouse load into a message that names the file, the line and the field."""

from collections.abc import Sequence

import dagster as dg

from pipeline.lib.json_records import find_problem
from pipeline.lib.lake import DataLake
from pipeline.lib.warehouse import FileLedger, JsonBatch, LoadError, TableSpec, Warehouse


def load_or_fail(
    lake: DataLake,
    warehouse: Warehouse,
    table: TableSpec,
    batches: Sequence[JsonBatch],
    ledger: FileLedger | None = None,
) -> list[int]:
    """The warehouse's load of the batches; a data error fails the step at once, with the reason explained."""
    try:
        return warehouse.replace_from_json(lake, table, batches, ledger)
    except LoadError as exc:
        # A data error: retrying cannot help, so the run fails at once with the reason.
        raise dg.Failure(description=explain_load_error(lake, table, exc), allow_retries=False) from exc


def explain_load_error(lake: DataLake, table: TableSpec, error: LoadError) -> str:
    """The first contract break in the batch's files, found by reading them again, then the engine's own words.

    Only files the engine's message names are read again when the batch has many, so explaining a
    failure over thousands of song files stays cheap.
    """
    batch = error.batch
    keys = batch.keys if len(batch.keys) == 1 else [k for k in batch.keys if lake.uri(k) in str(error)]
    window = None
    if batch.window_column is not None:
        window = (batch.window_column, batch.low, batch.high, batch.label)
    for key in keys:
        with lake.open(key) as stream:
            problem = find_problem(stream, lake.uri(key), table, window, dict(batch.added_fields))
        if problem is not None:
            # The engine's own words stay in the chained exception: they count lines their own way (DuckDB
            # names the line after the bad one), and a message with two different line numbers misleads.
            return f"{table.qualified} not loaded, nothing changed: {problem}"
    return f"{table.qualified} not loaded, nothing changed: {error}"
