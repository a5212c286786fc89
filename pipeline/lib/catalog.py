"""The Glue Data Catalog: one partition of a catalog table registered at its folder in the lake, created or, when
it is there already, updated, so a re-run never duplicates it and Athena and Redshift Spectrum read what the lake
holds. Knows no pipeline: the caller names the database, table, partition values and location.

boto3 is imported when a partition is registered, not when the code location loads (docs/performance.md).
"""

from collections.abc import Sequence

# Who creates the catalog's database and tables: named in the error when one is missing.
CREATED_BY = "the data stack (deploy/cloudformation/data.yaml, stack data-platform-data)"
# boto3's attempts per call, the first included, in its standard mode (throttling and 5xx answers retried with
# backoff). A fault that outlives them is transient to pipeline/lib/transient.py and retries the step.
MAX_ATTEMPTS = 5


class CatalogTableMissing(LookupError):
    """The catalog has no such database or table: nothing to register into, and a retry cannot help."""


def glue_client():
    """A Glue client from boto3's own chain (the environment, a profile, the instance's role; AWS_ENDPOINT_URL)."""
    import boto3
    import botocore.config

    return boto3.client(
        "glue", config=botocore.config.Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
    )


def register_partition(database: str, table: str, values: Sequence[str], location: str, glue=None) -> str:
    """The table's partition of these values (in the order of its partition keys) at `location`, with the
    table's columns, formats and serde: created, or updated when it exists. Returns its name as the catalog
    shows it: `database.table/month=2020-06`."""
    glue = glue or glue_client()
    try:
        described = glue.get_table(DatabaseName=database, Name=table)["Table"]
    except glue.exceptions.EntityNotFoundException as exc:
        raise CatalogTableMissing(
            f"Glue table {database}.{table} not found ({exc.response['Error'].get('Message', '')}): "
            f"{CREATED_BY} creates the catalog database and its tables"
        ) from exc
    keys = [key["Name"] for key in described.get("PartitionKeys", [])]
    if len(keys) != len(values):
        raise ValueError(
            f"Glue table {database}.{table} is partitioned by {keys or 'nothing'}, not given {list(values)}"
        )
    # The table's descriptor, the partition's folder in place of the table's: a partition written by this
    # pipeline has the table's columns, so a reader never sees a schema of the partition's own.
    partition = {
        "Values": list(values),
        "StorageDescriptor": {**described["StorageDescriptor"], "Location": location},
    }
    try:
        glue.create_partition(DatabaseName=database, TableName=table, PartitionInput=partition)
    except glue.exceptions.AlreadyExistsException:
        glue.update_partition(
            DatabaseName=database, TableName=table, PartitionValueList=list(values), PartitionInput=partition
        )
    return f"{database}.{table}/" + "/".join(f"{key}={value}" for key, value in zip(keys, values, strict=True))
