"""Notice a WAV whose data chunk claims more samples than the file holds.

libsndfile reads such a file up to its real end without complaint (its log says ``data :
192000 (should be 95978)``), so a truncated copy would pass for a complete recording.
:func:`audio_truncation` turns that log line into one warning with both lengths;
``detect``/``replay`` (through the block reader) and ``import`` log it, and ``import``
also notes it in the recording's ``/incidents`` (kind ``truncated``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

logger = logging.getLogger(__name__)

_DATA = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_BLOCK_ALIGN = re.compile(r"Block Align\s*:\s*(\d+)")


def audio_truncation(path: str | Path, extra_info: str, frames: int, rate_hz: float) -> str | None:
    """One line if libsndfile's log (``extra_info``) says the data chunk runs past the end.

    Args:
        path: The file, for the message.
        extra_info: ``soundfile.SoundFile.extra_info`` (or ``soundfile.info(path).extra_info``).
        frames: Frames libsndfile will read (the real length).
        rate_hz: Sample rate (Hz), for the lengths in seconds.

    Returns:
        ``None`` for a complete file, else what is wrong and what is read.
    """
    match = _DATA.search(extra_info)
    if match is None:
        return None
    declared_bytes, present_bytes = int(match[1]), int(match[2])
    if declared_bytes <= present_bytes:
        return None
    align = _BLOCK_ALIGN.search(extra_info)
    if align is not None and int(align[1]) > 0:
        declared = declared_bytes // int(align[1])
    else:  # compressed or unusual: scale the frames read by the byte counts
        declared = round(frames * declared_bytes / max(present_bytes, 1))
    return (
        f"{path}: its header declares {declared:,} frames ({declared / rate_hz:.6g} s) but the "
        f"file ends after {frames:,} ({frames / rate_hz:.6g} s): it is truncated; only those "
        f"{frames:,} frames are read"
    )
