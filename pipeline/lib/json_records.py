"""Reading raw JSON files object by object in Python, with the line each object starts on.

Engines that read JSON themselves (DuckDB, Redshift) load the files; this reader is the second
opinion: it counts objects for reconciliation and, when a load fails, names the file, line and field
that broke it. Warehouses with no JSON reader of their own (Postgres) stream their loads through it.

What a file may hold is decided here and mirrored by the DuckDB load (docs/guarantees.md): a UTF-8
byte-order mark at the start is skipped; bytes that are not UTF-8 are refused with their line; `NaN`
and `Infinity` (bare, not JSON, or as strings) are refused in a loaded field, as is a NUL character
(`\u0000`) in text, which no warehouse's text type holds; an object or array where text is expected is
loaded as its compact JSON text, as Redshift's COPY does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import BinaryIO

from pipeline.lib.tables import TableSpec
from pipeline.lib.text_lines import line_ends, line_start

_CHUNK = 1 << 20
# An object larger than this is taken as malformed rather than read on (DuckDB's own default limit).
MAX_OBJECT_BYTES = 16 << 20
_WHITESPACE = " \t\r\n"
_BOM = "\ufeff"


class NotJson(float):
    """A bare NaN, Infinity or -Infinity: Python's parser accepts them, JSON does not (nor Redshift's COPY).

    Kept as a marked value, not an error at parse time, so the problem is reported with the field it is in,
    and only when the table loads that field (the engines do not read fields they do not load).
    """

    def __new__(cls, token: str):
        value = super().__new__(cls, float(token.replace("Infinity", "inf")))
        value.token = token
        return value


class RawDataError(ValueError):
    """A raw file breaks the contract at a known place."""

    def __init__(self, uri: str, line: int, problem: str, field: str | None = None):
        where = f"{uri}, line {line}" + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {problem}")
        self.uri, self.line, self.field, self.problem = uri, line, field, problem


def iter_objects(stream: BinaryIO, uri: str) -> Iterator[tuple[int, dict]]:
    """(line where the object starts, object) for JSON Lines, pretty-printed or back-to-back objects."""
    decoder = json.JSONDecoder(parse_constant=NotJson)
    reader = _Utf8Chunks(stream, uri)
    buffer, line, exhausted = "", 1, False
    while not buffer and not exhausted:
        buffer, exhausted = reader.read(), reader.done
    buffer = buffer.removeprefix(_BOM)  # a byte-order mark says "UTF-8", nothing more; DuckDB skips it too
    after_cr = False  # the whitespace read last ended in \r: a \n starting the next read ends the same line
    while True:
        stripped = buffer.lstrip(_WHITESPACE)
        line += line_ends(buffer, 0, len(buffer) - len(stripped)) - (after_cr and buffer.startswith("\n"))
        after_cr = not stripped and buffer.endswith("\r")
        buffer = stripped
        if not buffer:
            if exhausted:
                return
            buffer, exhausted = reader.read(), reader.done
            continue
        try:
            obj, end = decoder.raw_decode(buffer)
        except json.JSONDecodeError as exc:
            if not exhausted and len(buffer) < MAX_OBJECT_BYTES:  # the object may continue in the next chunk
                buffer += reader.read()
                exhausted = reader.done
                continue
            # Name the line the broken object starts on: in JSON Lines that is the bad line, even when
            # the parser only notices the damage further on.
            where = f"column {exc.colno}" if exc.lineno == 1 else f"line {line + exc.lineno - 1}, column {exc.colno}"
            raise RawDataError(uri, line, f"malformed JSON: {exc.msg} at {where}") from None
        if not isinstance(obj, dict):
            raise RawDataError(uri, line, f"expected a JSON object, found {type(obj).__name__}")
        yield line, obj
        line += line_ends(buffer, 0, end)
        buffer = buffer[end:]


class _Utf8Chunks:
    def __init__(self, stream: BinaryIO, uri: str):
        self._stream, self._uri, self._pending, self.done = stream, uri, b"", False
        # Line ends returned so far, and bytes since the last one: where an undecodable byte is, in lines.
        self._lines_read, self._line_bytes, self._after_cr = 0, 0, False

    def read(self) -> str:
        chunk = self._stream.read(_CHUNK)
        if not chunk:
            self.done = True
        data = self._pending + chunk
        # Keep an incomplete UTF-8 sequence at the chunk's end for the next read.
        cut = len(data) if self.done else _utf8_boundary(data)
        self._pending = data[cut:]
        try:
            text = data[:cut].decode("utf-8")
        except UnicodeDecodeError as exc:
            line = self._lines_read + self._ends(data, exc.start) + 1
            start = line_start(data, exc.start)
            column = exc.start - start + 1 if start >= 0 else self._line_bytes + exc.start + 1
            bad = data[exc.start : exc.end].hex(" ")
            raise RawDataError(self._uri, line, f"not UTF-8 text: byte(s) {bad} at column {column}") from None
        self._lines_read += self._ends(data, cut)
        self._after_cr = data[:cut].endswith(b"\r") or (self._after_cr and cut == 0)
        start = line_start(data, cut)
        self._line_bytes = cut - start if start >= 0 else self._line_bytes + cut
        return text

    def _ends(self, data: bytes, end: int) -> int:
        """Line ends in data[:end], less a \n that ends the \r the previous chunk ended with."""
        return line_ends(data, 0, end) - (self._after_cr and data.startswith(b"\n"))


def _utf8_boundary(data: bytes) -> int:
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # a lead byte or ASCII: the sequence starting here may be incomplete
            needed = 1 if byte < 0x80 else 2 if byte >> 5 == 0b110 else 3 if byte >> 4 == 0b1110 else 4
            return len(data) - back if needed > back else len(data)
    return len(data)


def count_objects(stream: BinaryIO, uri: str) -> int:
    return sum(1 for _ in iter_objects(stream, uri))


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _type_problem(value, logical_type: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, NotJson):
        return f"{value.token} is not valid JSON (no warehouse stores it as a number)"
    if logical_type == "text":
        # An object or array is loaded as its JSON text; only a NUL is refused (Postgres and Redshift text
        # cannot hold one). Inside an object's text it is the escape \u0000, six plain characters.
        if isinstance(value, str) and "\x00" in value:
            return "text contains a NUL character (\\u0000), which no warehouse's text type can hold"
        return None
    if isinstance(value, (dict, list)):
        return f"expected {_a(logical_type)} value, found a JSON {'object' if isinstance(value, dict) else 'array'}"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return f"expected {_a(logical_type)}, found {json.dumps(value)}"
    try:
        number = float(value)
    except ValueError:
        return f"expected {_a(logical_type)}, found {json.dumps(value)}"
    if not math.isfinite(number):
        return f"expected a finite number, found {json.dumps(value)}"
    if logical_type in ("integer", "bigint") and not number.is_integer():
        return f"expected a whole number, found {json.dumps(value)}"
    if logical_type == "integer" and not -(2**31) <= number < 2**31:
        return f"{json.dumps(value)} is out of range for an integer"
    return None


def first_unstorable(value, where: str = "") -> tuple[str, str] | None:
    """(where, problem) of the first value of a parsed JSON document that no warehouse stores as it is, or None:
    a bare NaN or Infinity (parsed with NotJson), a number too large for a double, or a NUL in text. `where` is
    its path: `current.temp_c`, `drinks[2].strDrink`."""
    if isinstance(value, dict):
        children = ((f"{where}.{key}" if where else str(key), child) for key, child in value.items())
    elif isinstance(value, list):
        children = ((f"{where}[{n}]", child) for n, child in enumerate(value))
    else:
        children = ()
    for path, child in children:
        found = first_unstorable(child, path)
        if found:
            return found
    if isinstance(value, NotJson):
        return where, _type_problem(value, "double")
    if isinstance(value, float) and not math.isfinite(value):
        return where, f"{value} is out of range for a double"
    if isinstance(value, str):
        problem = _type_problem(value, "text")
        return (where, problem) if problem else None
    return None


Window = tuple[str, int, int, str]  # (column, low, high, what): the column's value must lie in [low, high)


def object_problem(obj: dict, table: TableSpec, window: Window | None = None) -> tuple[str, str] | None:
    """(field, problem) for the first way the object breaks the table's contract, or None."""
    for column in table.columns:
        value = obj.get(column.source)
        problem = _type_problem(value, column.type)
        if problem:
            return column.source, problem
        if window and column.name == window[0]:
            low, high, what = window[1:]
            if value is None or not low <= float(value) < high:
                return column.source, f"{json.dumps(value)} is not in {what}"
    return None


def find_problem(
    stream: BinaryIO, uri: str, table: TableSpec, window: Window | None = None, added: dict | None = None
) -> RawDataError | None:
    """The first place the file breaks the table's contract, or None if this reader finds none.

    `added` holds the fields a batch adds to every object (JsonBatch.added_fields)."""
    try:
        for line, obj in iter_objects(stream, uri):
            problem = object_problem({**obj, **added} if added else obj, table, window)
            if problem:
                return RawDataError(uri, line, problem[1], problem[0])
    except RawDataError as exc:
        return exc
    return None
