"""The month files and what they hold: where each layer of a month lives in the lake (NYC_TAXI_DATA_URI), the
green-taxi CSV's columns (TLC, 2020) and the typed columns every engine writes them as.

raw/nyc/green_tripdata_YYYY-MM.csv (or .csv.gz, or TLC's .parquet: one of them a month) ->
staging/nyc/YYYY-MM/*.parquet -> gold/nyc/YYYY-MM/*.parquet (the MWAA original's raw/, staging/ and gold/
prefixes). A month's layer is a folder of parquet files, replaced whole: DuckDB writes one file, Spark a file per
task.
"""

import datetime as dt
import gzip
import io
import re
import zlib

from pipeline.lib.partitioned_files import PartitionedFiles

# The CSV header of a 2020 green-taxi file, in order.
CSV_COLUMNS = (
    "VendorID",
    "lpep_pickup_datetime",
    "lpep_dropoff_datetime",
    "store_and_fwd_flag",
    "RatecodeID",
    "PULocationID",
    "DOLocationID",
    "passenger_count",
    "trip_distance",
    "fare_amount",
    "extra",
    "mta_tax",
    "tip_amount",
    "tolls_amount",
    "ehail_fee",
    "improvement_surcharge",
    "total_amount",
    "payment_type",
    "trip_type",
    "congestion_surcharge",
)
DROPPED = "congestion_surcharge"  # as the original's Glue job did

# (column, logical type) of a staged trip, after the CSV's columns minus DROPPED: names lower-cased as the
# original's Glue catalog made them; then where the row came from.
TRIP_COLUMNS = (
    ("vendorid", "integer"),
    ("lpep_pickup_datetime", "timestamp"),
    ("lpep_dropoff_datetime", "timestamp"),
    ("store_and_fwd_flag", "text"),
    ("ratecodeid", "integer"),
    ("pulocationid", "integer"),
    ("dolocationid", "integer"),
    ("passenger_count", "integer"),
    ("trip_distance", "double"),
    ("fare_amount", "double"),
    ("extra", "double"),
    ("mta_tax", "double"),
    ("tip_amount", "double"),
    ("tolls_amount", "double"),
    ("ehail_fee", "double"),
    ("improvement_surcharge", "double"),
    ("total_amount", "double"),
    ("payment_type", "integer"),
    ("trip_type", "integer"),
    ("source_file", "text"),  # the month file's URI
    ("source_row", "bigint"),  # its line in that file (the header is line 1); a Parquet file's row, from 1
    ("month", "date"),  # the file's month (the partition), whatever a late trip's pickup date
)
# (CSV column, staged name, logical type) of every column read from the CSV: the CSV's, DROPPED left out, in order.
_READ = [c for c in CSV_COLUMNS if c != DROPPED]
STAGED_FROM_CSV = tuple(
    (csv_column, name, logical) for csv_column, (name, logical) in zip(_READ, TRIP_COLUMNS[: len(_READ)], strict=True)
)
# The gold aggregate: the original's groupBy, per month.
FARE_GROUPS = ("pulocationid", "trip_type", "payment_type")
FARE_BY_ZONE_COLUMNS = (
    ("month", "date"),
    ("pulocationid", "integer"),
    ("trip_type", "integer"),
    ("payment_type", "integer"),
    ("fare_amount", "double"),  # the sum
    ("trips", "bigint"),
)


def month_key(month: dt.date) -> str:
    """The month's partition key and first day: 2020-01-01."""
    return month.strftime("%Y-%m-01")


# What a month file may be, one file a month: TLC's CSV, the same CSV gzip-compressed, TLC's Parquet (read by
# column name and type). In key order, so a month's names sort together and the last is its greatest.
MONTH_FORMATS = ("csv", "csv.gz", "parquet")


def month_file_key(month: dt.date, month_format: str = "csv") -> str:
    return f"raw/nyc/green_tripdata_{month:%Y-%m}.{month_format}"


def csv_key(month: dt.date) -> str:
    return month_file_key(month, "csv")


def is_parquet_month(key: str) -> bool:
    return key.endswith(".parquet")


# The lake's two derived layers, a folder per month under each prefix.
TRIPS_PREFIX = "staging/nyc/"
FARE_BY_ZONE_PREFIX = "gold/nyc/"


def trips_folder(month: dt.date) -> str:
    return f"{TRIPS_PREFIX}{month:%Y-%m}/"


def fare_by_zone_folder(month: dt.date) -> str:
    return f"{FARE_BY_ZONE_PREFIX}{month:%Y-%m}/"


# The Glue catalog's tables of the two layers (the data stack creates them, partitioned by `month` = YYYY-MM):
# a month's partition is its folder.
TRIPS_TABLE = "green_trips"
FARE_BY_ZONE_TABLE = "fare_by_zone"


def catalog_month(month: dt.date) -> str:
    """The month's value of the catalog tables' partition key `month`: 2020-01."""
    return f"{month:%Y-%m}"


def is_parquet_part(key: str) -> bool:
    """A data file of a layer's folder: not Spark's _SUCCESS marker, nor the .crc files of its local writer."""
    name = key.rsplit("/", 1)[-1]
    return name.endswith(".parquet") and not name.startswith((".", "_"))


# A UTF-8 byte-order mark that an editor or an export may put before the header: skipped, as every reader does.
BOM = "\ufeff"
# Why a value is refused whatever its engine (spark/month_job.py words them alike), as Sparkify's reader refuses them.
NUL_IN_TEXT = "text contains a NUL character (\\u0000), which no warehouse's text type can hold"
NOT_FINITE = "expected a finite number, found "
HEADER = ",".join(CSV_COLUMNS)
_BOM_BYTES, _HEADER_BYTES = BOM.encode(), HEADER.encode()


def is_trip_line(line: bytes) -> bool:
    """A line of a month file that is a trip: not the header (a byte-order mark before it skipped), not blank,
    not only separators (fields all empty)."""
    if not line.replace(b",", b"").strip():
        return False
    return line.rstrip(b"\r\n").removeprefix(_BOM_BYTES) != _HEADER_BYTES


_GZIP_MAGIC, _PARQUET_MAGIC = b"\x1f\x8b", b"PAR1"


def holds_no_trip(content: bytes) -> bool:
    """A (small) month file with no trip in it: empty, or its header alone (with blank lines), compressed or not,
    or a Parquet file of no row: what an interrupted export leaves, refused unless the month is cleared on
    purpose. Told by the content's first bytes, as the kit gives content only; a file that does not open is
    not called empty (the engine names what is wrong with it)."""
    try:
        if content.startswith(_GZIP_MAGIC):
            content = gzip.decompress(content)
        elif content.startswith(_PARQUET_MAGIC):
            import pyarrow.parquet as pq  # loads only for a small Parquet file, not with the code location

            return pq.read_metadata(io.BytesIO(content)).num_rows == 0
    except (OSError, EOFError, zlib.error, ValueError):
        return False
    return not any(is_trip_line(line) for line in content.splitlines())


RAW_PREFIX = "raw/nyc/"
# The run tag that clears a month whose file was emptied on purpose (the kit's, as Sparkify's for a day).
CLEAR_EMPTY_MONTHS_TAG = "nyc_taxi/clear_empty_months"
_MONTH_FILE = re.compile(
    r"^raw/nyc/green_tripdata_(\d{4})-(\d{2})\.(?:" + "|".join(map(re.escape, MONTH_FORMATS)) + ")$"
)


def _month_of_key(key: str) -> str | None:
    found = _MONTH_FILE.match(key)
    return month_key(dt.date(int(found[1]), int(found[2]), 1)) if found and 1 <= int(found[2]) <= 12 else None


# The month files as the kit's partitioned files: a month's partition key <-> its object key.
MONTH_FILES = PartitionedFiles(
    prefix=RAW_PREFIX,
    key_of=lambda partition: csv_key(dt.date.fromisoformat(partition)),
    partition_of=_month_of_key,
    what="month file",
    clear_empty_tag=CLEAR_EMPTY_MONTHS_TAG,
    empty_when=holds_no_trip,
    also_as=lambda partition: tuple(month_file_key(dt.date.fromisoformat(partition), f) for f in MONTH_FORMATS[1:]),
)
