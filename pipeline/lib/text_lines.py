"""What a line of a raw text file is, for every reader of the platform (docs/guarantees.md): a line ends at `\\n`,
`\\r\\n` or a lone `\\r` (as Python's, Arrow's, DuckDB's and Hadoop's readers split them), so a line number means the
same in every error; and where the first byte that is not UTF-8 text is, named by line and column.
"""

from collections.abc import Iterator
from typing import BinaryIO


def iter_lines(stream: BinaryIO) -> Iterator[bytes]:
    """The stream's lines without their line ends, a blank line included (the first is line 1)."""
    for piece in stream:  # split at \n only: a piece may hold lone \r line ends, split here
        yield from piece.splitlines() or [b""]


def line_ends(text: str | bytes, start: int = 0, end: int | None = None) -> int:
    """The line ends in text[start:end], a `\\r\\n` counted once."""
    end = len(text) if end is None else end
    lf, cr, crlf = ("\n", "\r", "\r\n") if isinstance(text, str) else (b"\n", b"\r", b"\r\n")
    return text.count(lf, start, end) + text.count(cr, start, end) - text.count(crlf, start, end)


def line_start(text: str | bytes, before: int) -> int:
    """Where the line holding text[before] starts in text, or -1 if it starts before it."""
    lf, cr = ("\n", "\r") if isinstance(text, str) else (b"\n", b"\r")
    found = max(text.rfind(lf, 0, before), text.rfind(cr, 0, before))
    return found + 1 if found >= 0 else -1


def utf8_problem(line: bytes) -> str | None:
    """Why the line is not UTF-8 text (its first bad bytes and their column, counted in bytes from 1), or None."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text: byte(s) {line[exc.start : exc.end].hex(' ')} at column {exc.start + 1}"
    return None


def find_invalid_utf8(stream: BinaryIO) -> tuple[int, str] | None:
    """(line, problem) of the first line that is not UTF-8 text, or None."""
    for number, line in enumerate(iter_lines(stream), start=1):
        problem = utf8_problem(line)
        if problem:
            return number, problem
    return None
