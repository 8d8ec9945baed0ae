"""The AE simulator that training uses: bursts, fatigue-machine background and disturbances.

The generalisation benchmark deliberately uses another generator (``bench/independent``).

Public API (imported on first use):
    RenewalProcess: :mod:`aemon.sim.background`
    TimedEvent: :mod:`aemon.sim.background`
    add_periodic: :mod:`aemon.sim.background`
    hum_table: :mod:`aemon.sim.background`
    make_friction: :mod:`aemon.sim.background`
    make_spike: :mod:`aemon.sim.background`
    band_scale: :mod:`aemon.sim.bursts`
    bandpass_noise: :mod:`aemon.sim.bursts`
    burst_spacing_samples: :mod:`aemon.sim.bursts`
    make_burst: :mod:`aemon.sim.bursts`
    max_burst_samples: :mod:`aemon.sim.bursts`
    GeometrySimulator: :mod:`aemon.sim.geometry`
    SensorGeometry: :mod:`aemon.sim.geometry`
    SourceTruth: :mod:`aemon.sim.geometry`
    delayed: :mod:`aemon.sim.geometry`
    AESimulator: :mod:`aemon.sim.simulator`
    BurstTruth: :mod:`aemon.sim.simulator`
    Disturbance: :mod:`aemon.sim.simulator`
    SimBlock: :mod:`aemon.sim.simulator`
    SimConfig: :mod:`aemon.sim.simulator`
    make_background: :mod:`aemon.sim.simulator`
    training_sim_config: :mod:`aemon.sim.training`

Modules: background, bursts, geometry, simulator, training; machine_noise, randomised and
randomised_background draw the randomised training data.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "AESimulator": "simulator",
    "BurstTruth": "simulator",
    "Disturbance": "simulator",
    "GeometrySimulator": "geometry",
    "RenewalProcess": "background",
    "SensorGeometry": "geometry",
    "SimBlock": "simulator",
    "SimConfig": "simulator",
    "SourceTruth": "geometry",
    "TimedEvent": "background",
    "add_periodic": "background",
    "band_scale": "bursts",
    "bandpass_noise": "bursts",
    "burst_spacing_samples": "bursts",
    "delayed": "geometry",
    "hum_table": "background",
    "make_background": "simulator",
    "training_sim_config": "training",
    "make_burst": "bursts",
    "make_friction": "background",
    "make_spike": "background",
    "max_burst_samples": "bursts",
}

__all__ = [
    "AESimulator",
    "BurstTruth",
    "Disturbance",
    "GeometrySimulator",
    "RenewalProcess",
    "SensorGeometry",
    "SimBlock",
    "SimConfig",
    "SourceTruth",
    "TimedEvent",
    "add_periodic",
    "band_scale",
    "bandpass_noise",
    "burst_spacing_samples",
    "delayed",
    "hum_table",
    "make_background",
    "make_burst",
    "make_friction",
    "make_spike",
    "max_burst_samples",
    "training_sim_config",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
