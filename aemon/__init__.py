"""aemon: a real-time acoustic-emission monitor.

The core package holds the simulator, ring buffer, windowing, DSP, detector runtime,
event extraction, HDF5 I/O and the ``aemon`` command line. Acquisition drivers live in
:mod:`aemon.drivers` and the Qt application in :mod:`aemon.gui`; both import the core,
never the other way round.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("aemon")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
