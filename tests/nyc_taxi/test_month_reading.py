"""docs/guarantees.md's one reading of a text file, for a month's CSV: what Sparkify refuses in a day file (bytes
that are not UTF-8, a NUL, a NaN or an infinity, text for a number) fails the month naming file, line and column,
and line ends, blank lines and what is not loaded are read alike, through the real monthly job on both engines.

Every test starts from the same two loaded months (conftest.py's `platform`) and changes February's file.
"""

import pytest

from pipeline.defs.nyc_taxi.layout import CSV_COLUMNS, DROPPED
from tests.conftest import restarted_steps
from tests.nyc_taxi.month_platform import FEBRUARY, JANUARY, run_february

LINE = 5  # the line a refused value is put on


def on_line(content: bytes, column: str, value: bytes, line: int = LINE) -> bytes:
    """The file with the line's `column` set to `value` (raw bytes: quoted, or not UTF-8)."""
    lines = content.split(b"\n")
    fields = lines[line - 1].split(b",")
    fields[CSV_COLUMNS.index(column)] = value
    lines[line - 1] = b",".join(fields)
    return b"\n".join(lines)


# What Sparkify's reader refuses in a day file, in a month file: (column, value, the error after "<uri>, line 5").
REFUSED = {
    "invalid-UTF-8": ("store_and_fwd_flag", b"N\xf6", ": not UTF-8 text: byte(s) f6 at column {at}"),
    "NUL-in-text": ("store_and_fwd_flag", b"N\x00", ", column store_and_fwd_flag: text contains a NUL character"),
    "bare-NaN": ("fare_amount", b"NaN", ", column fare_amount: expected a finite number, found NaN"),
    "Infinity-as-text": (
        "tip_amount",
        b'"-Infinity"',
        ", column tip_amount: expected a finite number, found -Infinity",
    ),
    # Arrow's reader takes NA, NULL or NaN for NULL by default: the fast path loaded them as no value.
    "NA-for-a-number": ("passenger_count", b"NA", ", column passenger_count: cannot read NA as integer"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_value_sparkify_refuses_fails_the_month_naming_file_line_and_column_on_both_engines(platform, case):
    column, value, problem = REFUSED[case]
    before = platform.state()
    content = on_line(platform.month_file.read_bytes(), column, value)
    platform.month_file.write_bytes(content)
    at = content.split(b"\n")[LINE - 1].find(value[1:2]) + 1  # the column of the byte that is not UTF-8

    outcome = run_february()

    assert not outcome.success
    expected = f"{platform.month_file}, line {LINE}{problem.format(at=at)}"
    assert any(expected in e for e in outcome.errors), outcome.errors
    assert not restarted_steps(outcome.run_id)
    assert platform.state() == before


def test_line_ends_blank_lines_and_unloaded_values_are_read_alike_by_both_engines(platform):
    before = platform.state()
    # What the pipeline does not load is not read for values: a NaN and a NUL in the dropped column.
    content = on_line(on_line(platform.month_file.read_bytes(), DROPPED, b"NaN"), DROPPED, b"\x00", LINE + 1)
    header, *rows = content.split(b"\n")
    ends = (b"\r\n", b"\r", b"\n")  # CRLF, a lone CR, LF, line after line
    mixed = b"".join(row + ends[n % 3] for n, row in enumerate([header, *rows[:8], b"", *rows[8:]]))
    platform.month_file.write_bytes(mixed)

    outcome = run_february()

    assert outcome.ok, outcome.errors
    assert {c.name: c.passed for c in outcome.checks}["staging/green_trips:every_csv_line_is_a_trip"]
    after = platform.state()
    assert after[JANUARY] == before[JANUARY]
    # The same trips; the blank line after line 9 moves the later ones down a line (source_row is second to last).
    moved = [(*row[:-2], row[-2] + (row[-2] > 9), row[-1]) for row in before[FEBRUARY]["staging"]]
    assert after[FEBRUARY] == before[FEBRUARY] | {"staging": moved}  # in the same order: no two trips tie
