"""Offline training, evaluation and ONNX export of burst detectors (torch in ``train`` extra).

The data generator (``data``, ``data_sources``, ``labelled``) and metrics use only numpy and
scipy; ``models``, ``trainer``, ``export`` and ``package`` need torch. See docs/training.md.

Modules: config, config_specs, config_validation, data, data_sources, evaluate, export,
labelled, metrics, models, package, plots, report, trainer.
"""

__all__: list[str] = []
