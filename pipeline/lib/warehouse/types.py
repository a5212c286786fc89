"""Each warehouse's names for the logical column types (pipeline/lib/tables.py): the types its loads create a table
with, and the types the asset graph shows for that table's columns. Plain values: no warehouse's client is imported.
"""

DUCKDB_TYPES = {
    "text": "VARCHAR",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}
POSTGRES_TYPES = {
    "text": "text",
    "integer": "integer",
    "bigint": "bigint",
    "double": "double precision",
    "timestamp": "timestamp",
    "date": "date",
}
# Redshift's bare `text` is varchar(256), too short for user agents; 65535 bytes is its maximum.
REDSHIFT_TYPES = {
    "text": "varchar(65535)",
    "integer": "integer",
    "bigint": "bigint",
    "double": "double precision",
    "timestamp": "timestamp",
    "date": "date",
}
SNOWFLAKE_TYPES = {
    "text": "varchar",
    "integer": "integer",
    "bigint": "bigint",
    "double": "double",
    "timestamp": "timestamp_ntz",
    "date": "date",
}
BIGQUERY_TYPES = {
    "text": "STRING",
    "integer": "INT64",
    "bigint": "INT64",
    "double": "FLOAT64",
    "timestamp": "DATETIME",  # a time without zone, as the CSVs write it
    "date": "DATE",
}
# By the name WAREHOUSE takes.
WAREHOUSE_TYPES = {
    "duckdb": DUCKDB_TYPES,
    "postgres": POSTGRES_TYPES,
    "redshift": REDSHIFT_TYPES,
    "snowflake": SNOWFLAKE_TYPES,
    "bigquery": BIGQUERY_TYPES,
}
