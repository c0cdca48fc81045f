"""The ``sweep`` command line. Library code raises; this package alone prints errors."""

from sweep.cli._main import main

__all__ = ["main"]
