"""Acquisition drivers: the ZeroMQ wire protocol and receiver, the DAQ-side publisher,
soundcard capture (PortAudio) and file replay; ``source_from_spec`` (source_factory) turns a
SOURCE string into one.

Public API (imported on first use):
    InputDevice: :mod:`aemon.drivers.audio_devices`
    default_input_index: :mod:`aemon.drivers.audio_devices`
    find_input_device: :mod:`aemon.drivers.audio_devices`
    import_sounddevice: :mod:`aemon.drivers.audio_devices`
    list_input_devices: :mod:`aemon.drivers.audio_devices`
    BlockInfo: :mod:`aemon.drivers.capture_queue`
    CaptureQueue: :mod:`aemon.drivers.capture_queue`
    SampleClockCheck: :mod:`aemon.drivers.capture_queue`
    ChannelDigest: :mod:`aemon.drivers.daq_publisher`
    DaqPublisher: :mod:`aemon.drivers.daq_publisher`
    quantise: :mod:`aemon.drivers.daq_publisher`
    FileSource: :mod:`aemon.drivers.file_source`
    add_source_arguments: :mod:`aemon.drivers.source_factory`
    source_from_spec: :mod:`aemon.drivers.source_factory`
    source_from_args: :mod:`aemon.drivers.source_factory`
    source_kind: :mod:`aemon.drivers.source_factory`
    Admission: :mod:`aemon.drivers.stream_tracker`
    FrameHeader: :mod:`aemon.drivers.protocol`
    MalformedFrame: :mod:`aemon.drivers.protocol`
    StreamTracker: :mod:`aemon.drivers.stream_tracker`
    decode_frame: :mod:`aemon.drivers.protocol`
    decode_header: :mod:`aemon.drivers.protocol`
    encode_frame: :mod:`aemon.drivers.protocol`
    SoundcardSource: :mod:`aemon.drivers.soundcard`
    ZmqSource: :mod:`aemon.drivers.zmq_source`

Modules: audio_devices, capture_queue, daq_publisher, file_source, protocol, source_factory,
soundcard, zmq_source.
"""

from aemon._lazy import lazy_exports

_EXPORTS = {
    "Admission": "stream_tracker",
    "BlockInfo": "capture_queue",
    "CaptureQueue": "capture_queue",
    "ChannelDigest": "daq_publisher",
    "DaqPublisher": "daq_publisher",
    "FileSource": "file_source",
    "FrameHeader": "protocol",
    "InputDevice": "audio_devices",
    "MalformedFrame": "protocol",
    "SampleClockCheck": "capture_queue",
    "SoundcardSource": "soundcard",
    "StreamTracker": "stream_tracker",
    "ZmqSource": "zmq_source",
    "add_source_arguments": "source_factory",
    "decode_frame": "protocol",
    "decode_header": "protocol",
    "default_input_index": "audio_devices",
    "encode_frame": "protocol",
    "find_input_device": "audio_devices",
    "import_sounddevice": "audio_devices",
    "list_input_devices": "audio_devices",
    "source_from_spec": "source_factory",
    "quantise": "daq_publisher",
    "source_from_args": "source_factory",
    "source_kind": "source_factory",
}

__all__ = [
    "Admission",
    "BlockInfo",
    "CaptureQueue",
    "ChannelDigest",
    "DaqPublisher",
    "FileSource",
    "FrameHeader",
    "InputDevice",
    "MalformedFrame",
    "SampleClockCheck",
    "SoundcardSource",
    "StreamTracker",
    "ZmqSource",
    "add_source_arguments",
    "decode_frame",
    "decode_header",
    "default_input_index",
    "encode_frame",
    "find_input_device",
    "import_sounddevice",
    "list_input_devices",
    "quantise",
    "source_from_args",
    "source_from_spec",
    "source_kind",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
