"""SQL identifiers from configuration are validated here before they reach any statement."""

import re

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,126}$")


def checked_identifier(name: str, what: str = "identifier") -> str:
    """The name, if it is a plain SQL identifier (letters, digits, underscore; at most 127 characters)."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"invalid SQL {what} {name!r}: use letters, digits and underscores, not starting with a digit")
    return name


def quote(name: str) -> str:
    """A validated identifier in double quotes, as every SQL warehouse here accepts."""
    return '"' + checked_identifier(name) + '"'
