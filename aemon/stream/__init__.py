"""Acquisition stage: the Source protocol, the double-write ring buffer with its readers,
and the acquisition loop (source → ring → recorder).

Public API (imported on first use):
    Acquisition: :mod:`aemon.stream.acquisition`
    AcquisitionStatus: :mod:`aemon.stream.acquisition`
    ReadResult: :mod:`aemon.stream.ring`
    RingBuffer: :mod:`aemon.stream.ring`
    RingReader: :mod:`aemon.stream.ring`
    RingStats: :mod:`aemon.stream.ring`
    SamplesLost: :mod:`aemon.stream.ring`
    RingAccess: :mod:`aemon.stream.ring_reader`
    Source: :mod:`aemon.stream.source`
    SourceStats: :mod:`aemon.stream.source`
    delivery_error: :mod:`aemon.stream.source`

Modules: acquisition, ring, ring_reader, source.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "Acquisition": "acquisition",
    "AcquisitionStatus": "acquisition",
    "ReadResult": "ring",
    "RingAccess": "ring_reader",
    "RingBuffer": "ring",
    "RingReader": "ring",
    "RingStats": "ring",
    "SamplesLost": "ring",
    "Source": "source",
    "SourceStats": "source",
    "delivery_error": "source",
}

__all__ = [
    "Acquisition",
    "AcquisitionStatus",
    "ReadResult",
    "RingAccess",
    "RingBuffer",
    "RingReader",
    "RingStats",
    "SamplesLost",
    "Source",
    "SourceStats",
    "delivery_error",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
