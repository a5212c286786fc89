"""Reading raw JSON files object by object in Python, with the line each object starts on.

Engines that read JSON themselves (DuckDB, Redshift) load the files; this reader is the second
opinion: it counts objects for reconciliation and, when a load fails, names the file, line and field
that broke it. Warehouses with no JSON reader of their own (Postgres) stream their loads through it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # the warehouse package reads files through this module: no import back at run time
    from pipeline.lib.warehouse.base import TableSpec

_CHUNK = 1 << 20
# An object larger than this is taken as malformed rather than read on (DuckDB's own default limit).
MAX_OBJECT_BYTES = 16 << 20
_WHITESPACE = " \t\r\n"


class RawDataError(ValueError):
    """A raw file breaks the contract at a known place."""

    def __init__(self, uri: str, line: int, problem: str, field: str | None = None):
        where = f"{uri}, line {line}" + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {problem}")
        self.uri, self.line, self.field, self.problem = uri, line, field, problem


def iter_objects(stream: BinaryIO, uri: str) -> Iterator[tuple[int, dict]]:
    """(line where the object starts, object) for JSON Lines, pretty-printed or back-to-back objects."""
    decoder = json.JSONDecoder()
    reader = _Utf8Chunks(stream, uri)
    buffer, line, exhausted = "", 1, False
    while True:
        stripped = buffer.lstrip(_WHITESPACE)
        line += buffer.count("\n", 0, len(buffer) - len(stripped))
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
        line += buffer.count("\n", 0, end)
        buffer = buffer[end:]


class _Utf8Chunks:
    def __init__(self, stream: BinaryIO, uri: str):
        self._stream, self._uri, self._pending, self.done = stream, uri, b"", False

    def read(self) -> str:
        chunk = self._stream.read(_CHUNK)
        if not chunk:
            self.done = True
        data = self._pending + chunk
        # Keep an incomplete UTF-8 sequence at the chunk's end for the next read.
        cut = len(data) if self.done else _utf8_boundary(data)
        self._pending = data[cut:]
        try:
            return data[:cut].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RawDataError(self._uri, 0, f"not UTF-8 text at byte {exc.start}") from None


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
    if isinstance(value, (dict, list)):
        return f"expected {_a(logical_type)} value, found a JSON {'object' if isinstance(value, dict) else 'array'}"
    if logical_type == "text":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return f"expected {_a(logical_type)}, found {json.dumps(value)}"
    try:
        number = float(value)
    except ValueError:
        return f"expected {_a(logical_type)}, found {json.dumps(value)}"
    if logical_type in ("integer", "bigint") and not number.is_integer():
        return f"expected a whole number, found {json.dumps(value)}"
    if logical_type == "integer" and not -(2**31) <= number < 2**31:
        return f"{json.dumps(value)} is out of range for an integer"
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


def find_problem(stream: BinaryIO, uri: str, table: TableSpec, window: Window | None = None) -> RawDataError | None:
    """The first place the file breaks the table's contract, or None if this reader finds none."""
    try:
        for line, obj in iter_objects(stream, uri):
            problem = object_problem(obj, table, window)
            if problem:
                return RawDataError(uri, line, problem[1], problem[0])
    except RawDataError as exc:
        return exc
    return None
