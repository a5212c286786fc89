"""The NYC-taxi pipeline's Spark engine: one PySpark script, run by AWS Glue, EMR Serverless or a local Spark and
launched through Dagster Pipes (../spark_engine.py). It does what ../duckdb_engine.py does, to the same contract
(tests/nyc_taxi/test_spark_engine.py compares the two row for row):

- stage: a month's CSV (a .csv.gz decompressed by Spark's reader) -> typed parquet, each trip with its source
  file and line; a line with the wrong number of columns (a trailing comma included) or a value that does not
  parse rejects the month, naming file, line and column; so does a NUL in text, a NaN or infinity in a number, or
  bytes that are not UTF-8 (naming the byte); a UTF-8 byte-order mark before the header is skipped; a line ends at
  LF, CRLF or a lone CR (Hadoop's reader); a month of no trip is rejected unless the run clears it on purpose
  (`clear_empty`). A Parquet month (TLC's) is read by column name and type, as ../parquet_month.py reads it, its
  rows numbered from 1;
- aggregate: a month's trips -> sum of fare and count of trips by pickup zone, trip type and payment type.

What to do comes in the Pipes context's extras (step, months and their URIs, the CSV's columns and their types,
all from layout.py), so the contract has one source. A rejected month is reported as a custom message and ends
the job cleanly with nothing written for it; Dagster fails the step with that message.

Runs on Spark 3.5 (Glue 5.0, EMR 7) with dagster-pipes installed beside it. Dagster's definitions loader imports
this file too, so pyspark and boto3 are imported only when the job runs.
"""

import datetime as dt

from dagster_pipes import PipesCliArgsParamsLoader, PipesContext, PipesEnvVarParamsLoader, open_dagster_pipes

SPARK_TYPES = {"integer": "int", "bigint": "bigint", "double": "double", "text": "string", "date": "date"}
# A Parquet month's types (as Spark names them) each logical type is read from; an all-null column reads as int.
INTEGERS = {"tinyint", "smallint", "int", "bigint"}
NUMBERS = INTEGERS | {"float", "double", "decimal"}
PARQUET_TYPES = {"integer": NUMBERS, "double": NUMBERS, "text": {"string"}, "timestamp": {"timestamp", "timestamp_ntz"}}
INT_RANGE = (-(2**31), 2**31 - 1)
TIMESTAMP_FORMAT = "yyyy-MM-dd HH:mm:ss"
# A quoted CSV field, doubled quotes inside: removed before counting a line's separators.
QUOTED_FIELD = '"(?:[^"]|"")*"'
BOM = "\ufeff"  # a UTF-8 byte-order mark, skipped before the header
# Why a value is refused, worded as ../layout.py words them for the DuckDB engine.
NUL_IN_TEXT = "text contains a NUL character (\\u0000), which no warehouse's text type can hold"
NOT_FINITE = "expected a finite number, found "
NOT_UTF8 = "not UTF-8 text"


def pipes_io() -> dict:
    """Glue passes the Pipes parameters as job arguments, EMR Serverless and a local run as environment
    variables; the context and messages go through S3 when Dagster put them there."""
    cli = PipesCliArgsParamsLoader()
    params = cli if cli.is_dagster_pipes_process() else PipesEnvVarParamsLoader()
    if "bucket" not in params.load_context_params():
        return {"params_loader": params}
    import boto3
    from dagster_pipes import PipesS3ContextLoader, PipesS3MessageWriter

    s3 = boto3.client("s3")
    return {
        "params_loader": params,
        "context_loader": PipesS3ContextLoader(s3),
        "message_writer": PipesS3MessageWriter(s3),
    }


def spark_session():
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.appName("nyc_taxi")
        # Naive timestamps, as the CSV's (and DuckDB's): no session time zone shifts them.
        .config("spark.sql.session.timeZone", "UTC")
        # A value that does not parse becomes NULL and is reported with its line, whatever the Spark version.
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.legacy.timeParserPolicy", "CORRECTED")
        .config("spark.ui.showConsoleProgress", "false")  # progress bars are noise in a job's log
        .getOrCreate()
    )


def numbered_lines(spark, source: str):
    """The file's lines with their line number (the header is line 1), computed in the JVM: each split's
    position in the file (input_file_block_start) orders the splits, a row's id within its split orders it."""
    from pyspark.sql import functions as F

    text = (
        spark.read.text(source)
        .select("value", F.input_file_block_start().alias("block"), F.monotonically_increasing_id().alias("id"))
        .cache()
    )
    blocks = text.groupBy("block").agg(F.count("*").alias("lines"), F.min("id").alias("first_id")).collect()
    offsets, before = [], 0
    for block in sorted(blocks, key=lambda b: b["block"]):
        offsets.append((block["block"], block["first_id"], before))
        before += block["lines"]
    starts = spark.createDataFrame(offsets, "block long, first_id long, before long")
    return text.join(F.broadcast(starts), "block").select(
        "value", (F.col("id") - F.col("first_id") + F.col("before") + 1).alias("source_row")
    )


def stage(spark, month: dict, extras: dict) -> dict:
    """The month's file as typed parquet in its staging folder; what was read, or why the month is rejected. A
    Parquet file of zero bytes (a month cleared on purpose) is read as an empty CSV: it has no footer to read."""
    source = month["source"]
    if source.endswith(".parquet") and spark.read.format("binaryFile").load(source).select("length").first()[0]:
        return stage_parquet(spark, month, extras)
    return stage_csv(spark, month, extras)


def stage_csv(spark, month: dict, extras: dict) -> dict:
    """The month's CSV typed: its trips, or why the month is rejected."""
    from pyspark.sql import functions as F

    source, csv_columns, columns = month["source"], extras["csv_columns"], extras["columns"]
    header = ",".join(csv_columns)
    numbered = numbered_lines(spark, source)
    # Columns are read by position: a file whose first line is not the header is refused.
    first = numbered.where("source_row = 1").first()
    first = first["value"].removeprefix(BOM) if first else ""
    # A file of zero bytes (or blank lines) has no header: a month cleared on purpose may be one.
    cleared = extras["clear_empty"] and not first.strip() and numbered.where("trim(value) != ''").isEmpty()
    if first != header and not cleared:
        return {"rejected": f"{month['month'][:7]}: {source}, line 1: {first[:200]!r} is not the header {header!r}"}
    lines = numbered.where("source_row > 1 and trim(value) != ''")
    headers = lines.where(F.col("value") == header).count()
    fields = F.size(F.split(F.regexp_replace("value", QUOTED_FIELD, ""), ",", -1))
    schema = ", ".join(f"`{name}` string" for name in csv_columns)
    # Spark's text reader keeps a line's bytes as they are; decoding them again shows any that are not UTF-8
    # (as U+FFFD), which the CSV parser would load as that character.
    not_utf8 = F.decode(F.col("value").cast("binary"), "UTF-8") != F.col("value")
    parsed = lines.where(F.col("value") != header).select(
        "source_row",
        fields.alias("fields"),
        not_utf8.alias("not_utf8"),
        F.from_csv("value", schema, {"escape": '"'}).alias("csv"),
    )

    def at_line(text, separator=", "):
        # "line 7, column x: …" for a value, "line 7: …" for the line's shape, as the DuckDB engine words them.
        return F.concat(F.lit(f"{source}, line "), F.col("source_row").cast("string"), F.lit(separator), text)

    problems = [
        F.when(F.col("not_utf8"), at_line(F.lit(NOT_UTF8), ": ")),
        F.when(
            F.col("fields") != len(csv_columns),
            at_line(
                F.concat(F.lit(f"expected {len(csv_columns)} columns, found "), F.col("fields").cast("string")), ": "
            ),
        ),
    ]
    typed = []
    for csv_column, name, logical in columns:
        raw = F.col("csv")[csv_column]
        if logical == "timestamp":
            value = F.to_timestamp_ntz(raw, F.lit(TIMESTAMP_FORMAT))
        else:
            value = raw.cast(SPARK_TYPES[logical])
        problems.append(
            F.when(
                raw.isNotNull() & value.isNull(),
                at_line(F.concat(F.lit(f"column {csv_column}: cannot read "), raw, F.lit(f" as {logical}"))),
            )
        )
        if logical == "text":
            problems.append(F.when(raw.contains("\x00"), at_line(F.lit(f"column {csv_column}: {NUL_IN_TEXT}"))))
        if logical == "double":  # NaN and Infinity parse as doubles, but are no amount
            infinite = F.isnan(value) | value.isin(float("inf"), float("-inf"))
            problems.append(F.when(infinite, at_line(F.concat(F.lit(f"column {csv_column}: {NOT_FINITE}"), raw))))
        typed.append(value.alias(name))
    # A line whose fields are all empty is no trip (as the DuckDB engine drops it).
    parsed = parsed.where(
        (F.col("fields") != len(csv_columns)) | F.coalesce(*[F.col("csv")[c] for c in csv_columns]).isNotNull()
    )
    first_problem = parsed.select(F.coalesce(*problems).alias("problem"), "source_row").where("problem is not null")
    rejected = first_problem.orderBy("source_row").first()
    if rejected:
        problem = rejected["problem"]
        if problem.endswith(f": {NOT_UTF8}"):
            problem += _utf8_detail(numbered, rejected["source_row"])
        return {"rejected": f"{month['month'][:7]}: {problem}"}
    return write_trips(spark, parsed.select(*typed, "source_row"), month, extras, headers)


def stage_parquet(spark, month: dict, extras: dict) -> dict:
    """The month's Parquet file typed: its columns taken by name (others left out), each checked against the
    contract's type; a number read as an integer only when integral and in range, a NaN or an infinity in a number
    and a NUL in a text refused as in a CSV; its trips, or why the month is rejected (worded as the DuckDB engine
    words it, the file's types as Spark names them)."""
    from pyspark.sql import functions as F

    source, label = month["source"], month["month"][:7]
    try:
        frame = spark.read.parquet(source)
        types = {field.name: field.dataType.simpleString() for field in frame.schema.fields}
    except Exception as exc:  # Spark's reader raises its JVM's errors: the first line says what it could not read
        return {
            "rejected": f"{label}: {source}: not a Parquet file that can be read: {str(exc).strip().splitlines()[0]}"
        }
    position = F.col("_metadata.row_index") + 1  # the row's place in the file, from 1
    typed, problems = [], []
    for column, name, logical in extras["columns"]:
        if column not in types:
            return {"rejected": f"{label}: {source}: no column {column} (a Parquet month's columns are read by name)"}
        kind = types[column]
        if kind.split("(")[0] not in PARQUET_TYPES[logical]:
            return {"rejected": f"{label}: {source}, column {column}: a {kind} column is not read as {logical}"}
        raw = F.col(f"`{column}`")
        if logical == "timestamp":
            value = raw.cast("timestamp_ntz")  # a time zone's timestamp at UTC, the session's zone
        elif logical == "integer":
            # Range first: a double's NaN or infinity is outside it, and floor() of a huge double overflows.
            fits = raw.between(*INT_RANGE) & (raw == F.floor(raw))
            value = F.when(fits, raw.cast("int"))
            problems.append(
                F.when(
                    raw.isNotNull() & value.isNull(),
                    F.concat(
                        F.lit(f"{source}, row "),
                        position.cast("string"),
                        F.lit(f", column {column}: cannot read "),
                        raw.cast("string"),
                        F.lit(" as integer"),
                    ),
                )
            )
        else:
            value = raw.cast(SPARK_TYPES[logical])
        at_row = [F.lit(f"{source}, row "), position.cast("string"), F.lit(f", column {column}: ")]
        if logical == "text":  # as a CSV's text
            problems.append(F.when(raw.contains("\x00"), F.concat(*at_row, F.lit(NUL_IN_TEXT))))
        if logical == "double":  # as a CSV's number: Spark names them NaN, Infinity, -Infinity
            infinite = F.isnan(value) | value.isin(float("inf"), float("-inf"))
            problems.append(F.when(infinite, F.concat(*at_row, F.lit(NOT_FINITE), value.cast("string"))))
        typed.append(value.alias(name))
    if problems:
        first = frame.select(F.coalesce(*problems).alias("problem"), position.alias("source_row")).where(
            "problem is not null"
        )
        rejected = first.orderBy("source_row").first()
        if rejected:
            return {"rejected": f"{label}: {rejected['problem']}"}
    return write_trips(spark, frame.select(*typed, position.alias("source_row")), month, extras, 0)


def write_trips(spark, typed, month: dict, extras: dict, headers: int) -> dict:
    """The typed trips (with source_row) written to the month's staging folder, with their file and month; a month
    of no trip rejected unless the run clears it on purpose."""
    from pyspark.sql import functions as F

    source = month["source"]
    trips = typed.select(
        *[name for _, name, _ in extras["columns"]],
        F.lit(source).alias("source_file"),
        F.col("source_row").cast("bigint").alias("source_row"),
        F.lit(month["month"]).cast("date").alias("month"),
    )
    if not extras["clear_empty"] and trips.isEmpty():
        return {
            "rejected": f"{month['month'][:7]}: {source} holds no trip (only its header, blank lines or empty fields): "
            f"nothing was replaced (to clear the month on purpose, run {month['month']} with the tag "
            f"{extras['clear_empty_tag']}=true)"
        }
    trips.write.mode("overwrite").parquet(month["target"])
    return {"rows": spark.read.parquet(month["target"]).count(), "repeated_headers_skipped": headers}


def _utf8_detail(numbered, source_row: int) -> str:
    """Where on the line the bytes that are not UTF-8 are: ": byte(s) f6 at column 44", as the DuckDB engine says."""
    from pyspark.sql import functions as F

    line = bytes(numbered.where(F.col("source_row") == source_row).select(F.col("value").cast("binary")).first()[0])
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f": byte(s) {line[exc.start : exc.end].hex(' ')} at column {exc.start + 1}"
    return ""


def aggregate(spark, month: dict, extras: dict) -> dict:
    """The fare-by-zone aggregate of the month's trips in its gold folder: the original's groupBy, empty values
    forming their own groups; what it holds."""
    from pyspark.sql import functions as F

    groups = extras["group_by"]
    fare_by_zone = (
        spark.read.parquet(month["source"])
        .groupBy(*groups)
        .agg(F.sum("fare_amount").alias("fare_amount"), F.count("*").alias("trips"))
        .select(F.lit(month["month"]).cast("date").alias("month"), *groups, "fare_amount", "trips")
    )
    fare_by_zone.write.mode("overwrite").parquet(month["target"])
    made = (
        spark.read.parquet(month["target"])
        .agg(F.count("*").alias("groups"), F.sum("fare_amount").alias("fare_amount"), F.sum("trips").alias("trips"))
        .first()
    )
    return {"groups": made["groups"], "fare_amount": round(made["fare_amount"] or 0.0, 2), "trips": made["trips"] or 0}


STEPS = {"stage": stage, "aggregate": aggregate}


def run(pipes: PipesContext) -> None:
    extras, totals = pipes.extras, {}
    spark = spark_session()
    started = dt.datetime.now(dt.UTC)
    for month in extras["months"]:
        outcome = STEPS[extras["step"]](spark, month, extras)
        if "rejected" in outcome:
            pipes.log.error(outcome["rejected"])
            pipes.report_custom_message(outcome)
            return
        pipes.log.info(f"{month['month'][:7]}: {outcome} -> {month['target']}")
        for name, value in outcome.items():
            totals[name] = totals.get(name, 0) + value
    totals["spark_seconds"] = round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1)
    totals["spark_version"] = spark.version
    pipes.report_asset_materialization(metadata=totals)


def main() -> None:
    with open_dagster_pipes(**pipes_io()) as pipes:
        run(pipes)


if __name__ == "__main__":
    main()
