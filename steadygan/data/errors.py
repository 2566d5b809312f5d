"""The one exception type the data layer raises for bad input."""

from __future__ import annotations


class DataError(ValueError):
    """Bad or missing data; the message is one line naming the file or folder.

    Subclasses ValueError so callers that only know the standard library can
    still catch it; the CLI prints the message and exits with status 2.
    """
