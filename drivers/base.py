"""The Source protocol and its counters (defined in the core, re-exported for drivers)."""

from aemon.stream import Source, SourceStats

__all__ = ["Source", "SourceStats"]
