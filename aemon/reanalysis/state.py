"""The neural detector's preprocessing state at each chunk's start, computed without the model.

The neural detector's input passes a high-pass, an adaptive pre-whitener and a noise-floor
tracker (:class:`~aemon.dsp.preprocess.Preprocessor`). The pre-whitener forgets slowly (its
time constant is 0.34 s at 1.5625 MHz, 2.7 s at 192 kHz) and, worse, it freezes its
adaptation on segments that look like events, a yes/no decision that a slightly different
state can take the other way: measured on a 192 kHz simulation, a chunk that started 36 s
(13 time constants) early still scored events up to 4e-4 apart from the sequential pass.
A warm-up cannot make it exact; carrying the state can.

So the state is carried: :func:`preprocessor_at` feeds the samples between two chunk starts
through the same :class:`~aemon.detect.probability_map.ProbabilityMapStream` the detector
uses (gaps handled alike), with a stand-in for the model that infers nothing, and returns the
preprocessor as it is at the next chunk's start. The preprocessing costs a few percent of
the inference, so the chain of these tasks runs far ahead of the chunks that wait for it.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import numpy.typing as npt

from aemon.detect.model_card import ModelCard
from aemon.detect.offline import BLOCK_SAMPLES
from aemon.detect.onnx_runtime import default_model_path, resolve_model
from aemon.detect.probability_map import ProbabilityMapStream
from aemon.dsp.preprocess import Preprocessor
from aemon.io.file_readers import open_block_reader, timeline
from aemon.reanalysis.task import ChunkJob, ChunkView
from aemon.types import Gap

logger = logging.getLogger(__name__)


class NoInference:
    """A :class:`~aemon.detect.backend.Detector` that returns zeros: the stream's
    preprocessing and windowing run as usual, the model does not."""

    backend = provider = "none"
    threads = 1

    def __init__(self, card: ModelCard) -> None:
        self.card = card

    def infer(self, windows: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
        """Zeros of the shape the model would return."""
        card = self.card
        return np.zeros((windows.shape[0], len(card.classes), card.output_bins), np.float32)


def preprocessor_at(job: ChunkJob, stop: int, state: Preprocessor | None) -> Preprocessor:
    """The preprocessing state after the samples ``[job.chunk.run_start, stop)``.

    Args:
        job: The chunk whose detector starts at ``run_start`` (with ``state``).
        stop: Where the next chunk's detector starts (a multiple of the window hop from
            ``run_start``).
        state: The state at ``run_start``; None at the recording's first sample.
    """
    from aemon.detect.model_card import read_model_card

    options = job.options
    reader = open_block_reader(job.recording, **job.raw._asdict())
    view = ChunkView(reader, job.chunk.run_start, stop)
    try:
        fmt = reader.format
        model = (
            options.model if options.model is not None else default_model_path(fmt.sample_rate_hz)
        )
        card = read_model_card(resolve_model(model)[0])
        stream = ProbabilityMapStream(NoInference(card), fmt, first_sample=view.first_sample)
        if state is not None:  # a copy: Dask hands the same object to every task on a worker
            stream.continue_from(copy.deepcopy(state))
        for item in timeline(view, view.first_sample, BLOCK_SAMPLES):
            if isinstance(item, Gap):
                stream.gap(item)
            else:
                stream.push(*item)
    finally:
        view.close()
    return stream.preprocessor
