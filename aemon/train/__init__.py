"""Offline training, evaluation and ONNX export of burst detectors.

Needs the ``train`` extra (torch, onnx, matplotlib) for :mod:`~aemon.train.models`,
:mod:`~aemon.train.trainer`, :mod:`~aemon.train.export` and :mod:`~aemon.train.package`.
The data generator (:mod:`~aemon.train.data`, :mod:`~aemon.train.data_sources`,
:mod:`~aemon.train.labelled`), the metrics (:mod:`~aemon.train.metrics`) and stream
evaluation (:mod:`~aemon.train.evaluate`) use only numpy, scipy and onnxruntime, so the live
path and ``aemon evaluate`` can use them without torch. See ``docs/training.md``.
"""
