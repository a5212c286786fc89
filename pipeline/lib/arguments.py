"""Argument types shared by the platform's command lines (the sample-data generators')."""

import argparse


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1, refused with a message naming the value otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value
