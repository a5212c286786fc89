"""A deterministic generator of NYC green-taxi month files, raw/nyc/green_tripdata_YYYY-MM.csv, as the TLC wrote them
(or the same gzip-compressed, .csv.gz, or as TLC's Parquet files type them, .parquet: `--format`).

Every quirk of the real 2020 files is in every month it writes, so even a 20-trip month has empty values (ehail_fee
always; the "unknown vendor" rows' VendorID, store_and_fwd_flag, RatecodeID, passenger_count, payment_type,
trip_type and congestion_surcharge together), "Y" flags, refunds (negative amounts), late records from the previous
month, one trip of the next month, and a blank last line:
`python -m pipeline.defs.nyc_taxi.sample_data OUT_DIR [--months N] [--trips-per-month N] [--first-month YYYY-MM]
[--seed N] [--repeated-header] [--format csv|csv.gz|parquet]`.
"""

import argparse
import calendar
import datetime
import functools
import gzip
import os
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.defs.nyc_taxi.layout import CSV_COLUMNS, MONTH_FORMATS, month_file_key
from pipeline.lib.arguments import positive_int

PROGRESS_THRESHOLD = 200_000  # trips per month from which the CLI shows a percentage
BATCH = 20_000  # rows formatted and written at a time: a million-trip month never sits in memory
HEADER = ",".join(CSV_COLUMNS)
DAY = 86_400

# One row of each kind in every file, at random places; other rows get the random kinds at the shares below.
# The stored row pays the 2.75 congestion surcharge, refunds 0 and unknown-vendor rows nothing (empty), so every
# file has all three congestion values.
_SHOWCASE = ("unknown", "stored", "refund", "late", "next")
_UNKNOWN_SHARE = 0.03  # the TLC's "unknown vendor" rows
_REFUND_SHARE = 0.005
_LATE_SHARE = 0.001  # pickups on the last day of the previous month
_STORED_SHARE = 0.01  # store_and_fwd_flag "Y"
_CONGESTION_SHARE = 0.15  # trips that enter Manhattan below 96th Street

# Weighted choices as repeated tuples, picked with one random() each: far faster than rng.choices with weights.
_RATECODES = ("1",) * 95 + ("5",) * 3 + ("2", "3", "4")
_PASSENGERS = ("1",) * 80 + ("2",) * 9 + ("5",) * 4 + ("6",) * 3 + ("3", "3", "4", "0")
_PAYMENTS = (1,) * 55 + (2,) * 40 + (3,) * 3 + (4, 5)
# Green cabs cluster in upper Manhattan, the Bronx, Brooklyn and Queens: most trips start or end in a few zones.
_HOT_ZONES = tuple(str(zone) for zone in (7, 41, 42, 65, 66, 74, 75, 82, 95, 97, 129, 130, 166, 181, 244, 255, 260))
_ZONES = tuple(str(zone) for zone in range(1, 266))


@dataclass(frozen=True)
class TaxiSpec:
    """What to generate; the same spec (seed included) always gives byte-identical files.

    repeated_header: repeat the header line once in the middle of each file, as some real files have it
    (concatenated exports); off by default, for the tests of bad input.
    """

    months: int = 3
    trips_per_month: int = 1000
    first_month: datetime.date = datetime.date(2020, 1, 1)
    seed: int = 7
    repeated_header: bool = False
    format: str = "csv"  # one of layout.MONTH_FORMATS


@dataclass(frozen=True)
class MonthFile:
    """One written month: data_rows counts trips only; lines counts every line of the CSV, header(s) and the blank
    last one included (what `wc -l` says of it, decompressed); a Parquet month's rows."""

    month: datetime.date
    path: Path
    data_rows: int
    lines: int


@functools.cache  # a few thousand distinct amounts across a million rows
def _money(cents: int) -> str:
    # Integer cents, so totals add up exactly and a zero never prints as "-0.00".
    sign, cents = ("-", -cents) if cents < 0 else ("", cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _pick(options: tuple, rand) -> object:
    return options[int(rand() * len(options))]


def _distance(miles: float) -> str:
    return f"{miles:.2f}".rstrip("0").rstrip(".")  # up to 2 decimals: "0", "1.1", "12.34"


@functools.cache
def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


class _Month:
    """Formats one month's rows; pickups are seconds from the month's start (negative: the previous month)."""

    def __init__(self, month: datetime.date, rng: random.Random):
        self.rng = rng
        self.seconds = calendar.monthrange(month.year, month.month)[1] * DAY
        first = month - datetime.timedelta(days=1)
        # The previous month's last day, the month's days and the next month's first day (pickups up to its
        # first hour, dropoffs 90 minutes later): one strftime per day, not two per row.
        self.days = [(first + datetime.timedelta(days=n)).isoformat() for n in range(self.seconds // DAY + 2)]

    def _stamp(self, seconds: int) -> str:
        day, rest = divmod(seconds + DAY, DAY)
        return f"{self.days[day]} {_clock(rest)}"

    def row(self, kind: str | None) -> str:
        """One trip; kind forces a quirk (a _SHOWCASE kind), None draws one at the usual shares."""
        # Bound random() and indexing instead of rng.choice/randrange: half the time of a million-row month.
        rand = self.rng.random
        if kind is None:
            draw = rand()
            if draw < _UNKNOWN_SHARE:
                kind = "unknown"
            elif draw < _UNKNOWN_SHARE + _REFUND_SHARE:
                kind = "refund"
            elif draw < _UNKNOWN_SHARE + _REFUND_SHARE + _LATE_SHARE:
                kind = "late"
            elif rand() < _STORED_SHARE:
                kind = "stored"
        if kind == "late":
            pickup = -DAY + int(rand() * DAY)
        elif kind == "next":
            pickup = self.seconds + int(rand() * 3600)
        else:
            pickup = int(rand() * self.seconds)
        miles = 0.0 if rand() < 0.01 else min(self.rng.expovariate(1 / 2.8), 60.0)
        duration = 60 + int(min(5340, miles * 200 + rand() * 900))  # dropoff 1 to 90 minutes later
        ratecode = _pick(_RATECODES, rand)
        if ratecode == "5":  # negotiated fare
            fare = 500 * (2 + int(rand() * 11))
        elif ratecode == "2":  # JFK flat fare
            fare = 5200
        else:
            fare = (250 + int(miles * 250) + duration // 120 * 50) // 50 * 50
        hour = pickup % DAY // 3600
        extra = 50 if hour >= 20 or hour < 6 else 100 if 16 <= hour < 20 else 0
        trip_type = "1" if rand() < 0.97 else "2"
        mta_tax = 50 if trip_type == "1" else 0
        # Refunds are recorded as no charge or dispute.
        payment = (3 if rand() < 0.5 else 4) if kind == "refund" else _pick(_PAYMENTS, rand)
        tip = fare * (10 + int(rand() * 16)) // 100 if payment == 1 and rand() < 0.7 else 0
        tolls = 612 if rand() < 0.03 else 0
        congestion = 275 if kind == "stored" or (kind != "refund" and rand() < _CONGESTION_SHARE) else 0
        amounts = [fare, extra, mta_tax, tip, tolls, 30, congestion]  # improvement_surcharge is 0.30
        if kind == "refund":
            amounts = [-amount for amount in amounts]
        values = [
            "2" if rand() < 0.8 else "1",
            self._stamp(pickup),
            self._stamp(pickup + duration),
            "Y" if kind == "stored" else "N",
            ratecode,
            _pick(_HOT_ZONES, rand) if rand() < 0.6 else _pick(_ZONES, rand),
            _pick(_HOT_ZONES, rand) if rand() < 0.4 else _pick(_ZONES, rand),
            _pick(_PASSENGERS, rand),
            _distance(miles),
            _money(amounts[0]),
            _money(amounts[1]),
            _money(amounts[2]),
            _money(amounts[3]),
            _money(amounts[4]),
            "",  # ehail_fee: never filled in the real files
            _money(amounts[5]),
            _money(sum(amounts)),
            str(payment),
            trip_type,
            _money(amounts[6]),
        ]
        if kind == "unknown":
            for index in (0, 3, 4, 7, 17, 18, 19):  # these go empty together in the TLC's rows without a vendor
                values[index] = ""
            values[16] = _money(sum(amounts[:6]))
        return ",".join(values)


def _check_spec(spec: TaxiSpec) -> None:
    if spec.months < 1:
        raise ValueError(f"TaxiSpec.months must be positive, got {spec.months}")
    if spec.trips_per_month < len(_SHOWCASE):
        raise ValueError(f"TaxiSpec.trips_per_month must be at least {len(_SHOWCASE)}, got {spec.trips_per_month}")
    if spec.first_month.day != 1:
        raise ValueError(f"TaxiSpec.first_month must be a month's first day, got {spec.first_month}")
    if spec.format not in MONTH_FORMATS:
        raise ValueError(f"TaxiSpec.format must be one of {', '.join(MONTH_FORMATS)}, got {spec.format!r}")
    if spec.format == "parquet" and spec.repeated_header:
        raise ValueError("a repeated header is a CSV's: not with TaxiSpec.format parquet")


def _months(spec: TaxiSpec) -> list[datetime.date]:
    start = spec.first_month.year * 12 + spec.first_month.month - 1
    return [datetime.date(index // 12, index % 12 + 1, 1) for index in range(start, start + spec.months)]


def _write_month(path: Path, month: datetime.date, spec: TaxiSpec, progress: bool) -> MonthFile:
    # Seeded per month (a str seed hashes the same in every process), so a month's file is the same whichever
    # months are generated with it.
    rng = random.Random(f"{spec.seed}/{month:%Y-%m}")
    trips = spec.trips_per_month
    forced = dict(zip(rng.sample(range(trips), len(_SHOWCASE)), _SHOWCASE, strict=True))
    middle = trips // 2 if spec.repeated_header else -1
    writer = _Month(month, rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")  # renamed when complete: no reader sees half a month
    with open(partial, "w", encoding="ascii", newline="") as out:
        out.write(HEADER + "\n")
        for start in range(0, trips, BATCH):
            lines = []
            for index in range(start, min(start + BATCH, trips)):
                if index == middle:
                    lines.append(HEADER)
                lines.append(writer.row(forced.get(index)))
            out.write("\n".join(lines) + "\n")
            if progress:
                print(f"\r{path.name}: {min(start + BATCH, trips) * 100 // trips}%", end="", file=sys.stderr)
        out.write("\n")  # the blank last line some real files end with
    if progress:
        print(file=sys.stderr)
    lines = trips + 2 + spec.repeated_header
    if spec.format == "csv.gz":
        _compress(partial)
    elif spec.format == "parquet":
        _as_tlc_parquet(partial)
        lines = trips
    os.replace(partial, path)
    return MonthFile(month, path, trips, lines)


def _compress(partial: Path) -> None:
    """The CSV gzip-compressed in place; mtime 0 so that the same spec gives the same bytes."""
    compressed = partial.with_name(partial.name + ".gz")
    with (
        open(partial, "rb") as source,
        open(compressed, "wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as out,
    ):
        shutil.copyfileobj(source, out)
    os.replace(compressed, partial)


# TLC's Parquet types (its files since 2022): int64 vendor and zones, doubles for the other integer columns and the
# amounts, microsecond timestamps, and an all-null ehail_fee of no type.
_INTEGERS_AS_INT64 = {"VendorID", "PULocationID", "DOLocationID"}


def _as_tlc_parquet(partial: Path) -> None:
    """The CSV rewritten in place as TLC's Parquet: its columns, named and typed as TLC's files have them."""
    import pyarrow as pa  # only to write a Parquet month: the CSV generator needs no more than the standard library
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    types = {column: pa.float64() for column in CSV_COLUMNS} | {column: pa.int64() for column in _INTEGERS_AS_INT64}
    types |= {"store_and_fwd_flag": pa.string(), "ehail_fee": pa.null()}
    types |= {column: pa.timestamp("us") for column in ("lpep_pickup_datetime", "lpep_dropoff_datetime")}
    table = pa_csv.read_csv(
        partial,
        convert_options=pa_csv.ConvertOptions(
            column_types=types, timestamp_parsers=["%Y-%m-%d %H:%M:%S"], strings_can_be_null=True
        ),
    )
    pq.write_table(table, partial.with_name(partial.name + ".parquet"))
    os.replace(partial.with_name(partial.name + ".parquet"), partial)


def generate_months(root: Path, spec: TaxiSpec = TaxiSpec(), progress: bool = False) -> list[MonthFile]:
    """Write spec.months consecutive month files under root at month_file_key(month, spec.format), replacing those
    there; progress shows a percentage per file on stderr."""
    _check_spec(spec)
    return [
        _write_month(Path(root) / month_file_key(month, spec.format), month, spec, progress) for month in _months(spec)
    ]


def _year_month(text: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a month (YYYY-MM): {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    defaults = TaxiSpec()
    parser = argparse.ArgumentParser(description="Generate NYC green-taxi month files (TLC CSV, 2020 columns).")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--months", type=positive_int, default=defaults.months)
    parser.add_argument("--trips-per-month", type=positive_int, default=defaults.trips_per_month)
    parser.add_argument("--first-month", type=_year_month, default=defaults.first_month, help="YYYY-MM")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--repeated-header", action="store_true", help="repeat the header mid-file (bad input)")
    parser.add_argument(
        "--format", choices=MONTH_FORMATS, default=defaults.format, help="csv (default), csv.gz, or TLC's parquet"
    )
    args = parser.parse_args(argv)
    spec = TaxiSpec(args.months, args.trips_per_month, args.first_month, args.seed, args.repeated_header, args.format)
    try:
        files = generate_months(args.out_dir, spec, progress=spec.trips_per_month >= PROGRESS_THRESHOLD)
    except ValueError as error:
        parser.error(str(error))
    for month_file in files:
        print(f"wrote {month_file.data_rows} trips ({month_file.lines} lines) to {month_file.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
