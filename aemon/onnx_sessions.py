"""The one way aemon opens ONNX Runtime sessions: threads, execution providers and options.

Every ONNX model aemon runs (the detector, the denoiser, the embedding encoder, the checks and
speed measurements of ``aemon train``) is opened by :func:`open_session`, so they all get the
same tuning:

* one intra-op thread per physical core by default (hyper-threads only add contention in
  convolutions), or the number asked for; one inter-op thread and sequential execution;
* all graph optimisations;
* no spin-waiting, so the preprocessing, recorder and GUI threads keep their share of the CPU
  between batches;
* ONNX Runtime's own log at errors only (aemon logs what matters).

The execution provider is ``auto`` (CUDA when ``onnxruntime-gpu`` and a GPU are present, else
the CPU), ``cpu``, ``cuda`` or a full ORT provider name (:func:`resolve_providers`).

``onnxruntime`` is imported inside the functions, so importing this module stays cheap (the
command line's ``--help`` imports :data:`PROVIDER_CHOICES`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from aemon.errors import ConfigError, FileFormatError

if TYPE_CHECKING:
    import onnxruntime as ort

logger = logging.getLogger(__name__)

CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
PROVIDER_CHOICES = ("auto", "cpu", "cuda")
"""Devices: ``auto`` takes CUDA when available, else the CPU (ONNX Runtime and torch alike)."""
ALLOW_SPINNING = "session.intra_op.allow_spinning"
"""Session config key that lets idle intra-op threads spin; aemon sets it to ``"0"``."""
ORT_LOG_ERRORS = 3
"""ONNX Runtime log severity: 3 = errors only."""


def physical_cores() -> int:
    """Physical CPU cores this process may run on (hyper-thread siblings count once)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            package = (topo / "physical_package_id").read_text().strip()
            core = (topo / "core_id").read_text().strip()
        except OSError:
            return len(cpus)
        cores.add((package, core))
    return max(1, len(cores))


def resolve_providers(requested: str, available: list[str] | None = None) -> list[str]:
    """ORT provider list for ``auto``, ``cpu``, ``cuda`` or a full provider name.

    Args:
        requested: The choice.
        available: The providers this ONNX Runtime has (default: ask it).

    Raises:
        ConfigError: The requested provider is unknown or not available here.
    """
    if available is None:
        import onnxruntime as ort

        available = ort.get_available_providers()
    choice = requested.strip()
    if choice.lower() == "auto":
        return [CUDA_PROVIDER, CPU_PROVIDER] if CUDA_PROVIDER in available else [CPU_PROVIDER]
    if choice.lower() == "cpu":
        return [CPU_PROVIDER]
    name = CUDA_PROVIDER if choice.lower() == "cuda" else choice
    if not name.endswith("ExecutionProvider"):
        raise ConfigError(
            f"execution provider {requested!r} unknown; use {', '.join(PROVIDER_CHOICES)}"
        )
    if name not in available:
        hint = (
            " (pip install 'aemon[gpu]' and check the CUDA driver)" if name == CUDA_PROVIDER else ""
        )
        raise ConfigError(
            f"ONNX Runtime here has no {name}{hint}; available: {', '.join(available)}; "
            "use --provider cpu or auto"
        )
    return [name, CPU_PROVIDER]


def session_threads(threads: int | None) -> int:
    """Intra-op threads for a request: ``threads`` itself, or one per physical core for None.

    Raises:
        ConfigError: ``threads`` below 1.
    """
    if threads is None:
        return physical_cores()
    if threads < 1:
        raise ConfigError(f"inference threads must be at least 1, not {threads}")
    return threads


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """The options every aemon session runs with (see the module docstring).

    Args:
        threads: Intra-op threads; None for one per physical core.

    Raises:
        ConfigError: ``threads`` below 1.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = session_threads(threads)
    options.inter_op_num_threads = 1
    options.add_session_config_entry(ALLOW_SPINNING, "0")
    options.log_severity_level = ORT_LOG_ERRORS
    return options


def short_provider(provider: str) -> str:
    """``cpu`` / ``cuda`` for the two common ORT provider names, the name itself otherwise."""
    return {CPU_PROVIDER: "cpu", CUDA_PROVIDER: "cuda"}.get(provider, provider)


def open_session(
    model: bytes | str | os.PathLike[str],
    *,
    threads: int | None = None,
    provider: str = "cpu",
    what: str = "ONNX model",
) -> ort.InferenceSession:
    """Open an ONNX Runtime session on a model file or serialized model.

    Args:
        model: Path of an ``.onnx`` file, or the model's bytes.
        threads: Intra-op threads on the CPU; None for one per physical core.
        provider: ``auto``, ``cpu``, ``cuda`` or a full ORT provider name
            (:func:`resolve_providers`).
        what: What the model is, for messages (``"detector model"``); the path follows it
            when ``model`` is one.

    Returns:
        The session; ``session.get_providers()[0]`` is the provider in use.

    Raises:
        FileFormatError: The model cannot be loaded (one line naming it).
        ConfigError: A bad thread count, or a provider that is unknown, missing, or (when
            asked for by name) could not start.
    """
    import onnxruntime as ort

    options = session_options(threads)
    providers = resolve_providers(provider)
    source: bytes | str = model if isinstance(model, bytes) else os.fspath(model)
    where = what if isinstance(source, bytes) else f"{what} {source}"
    try:
        session = ort.InferenceSession(source, options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own non-exported exception types
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise FileFormatError(f"cannot load {where}: {first}") from None
    used = session.get_providers()
    if providers[0] not in used:  # ORT falls back silently when e.g. CUDA libraries fail
        if provider.strip().lower() != "auto":
            raise ConfigError(
                f"{providers[0]} could not start (see the ONNX Runtime log); "
                "use --provider cpu or auto"
            )
        logger.warning("%s could not start; running the %s on the CPU", providers[0], what)
    return session
