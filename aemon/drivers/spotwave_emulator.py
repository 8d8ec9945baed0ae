"""A spotWave on a pseudo-terminal: the device's serial protocol as ``waveline.SpotWave``
speaks it.

A spotWave is a USB CDC serial device; ``waveline.SpotWave(port)`` opens it with pyserial.
A pseudo-terminal pair stands in for the USB port: the emulator holds the master side and
the client opens the slave path (``/dev/pts/N``) like any serial port. The protocol, from
``waveline.SpotWave`` (``waveline`` 0.10): one ASCII command per line; multi-line answers
end with an empty line. Continuous data is polled: in continuous mode with transient
recording on, the device cuts the signal into records of ``ddt`` µs; ``get_tr_data``
returns the records completed since the last poll, each a header line
``TRAI=k T=ticks NS=n`` (``T`` in 2 MHz clock ticks since ``start_acq``) and ``2·n`` bytes of
little-endian int16 counts. ``get_ae_data`` returns one hit line per record.

The device buffer holds about 200 000 samples (:data:`BUFFER_SAMPLES`, from the
``SpotWave.set_continuous_mode`` notes): records that do not fit are lost, and the next
record's ``T`` jumps, which is how the client sees an overflow. ``overflow_at_s`` forces
one, for tests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
import tty
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from aemon.drivers.linwave_emulator import Signal

logger = logging.getLogger(__name__)

CLOCK_HZ = 2_000_000.0
"""spotWave clock (Hz); ``T`` counts its ticks, the rate is this over ``tr_decimation``."""
ADC_TO_MICROVOLTS = 2.86865
"""µV per count the emulator reports (±94 mV over ±32768)."""
BUFFER_SAMPLES = 200_000
FIRMWARE = "00.2D"


class SpotWaveEmulator:
    """Serves the spotWave protocol on a new pseudo-terminal; :attr:`port` is its path.

    Args:
        signal: ``signal(rate_hz, volts_per_count)`` → blocks with ``first_sample`` and
            ``samples`` (int16, one channel used).
        overflow_at_s: Lose one record this far into the signal (s).
        on_sent: Called with ``(first_sample, n)`` of every record sent.
        buffer_samples: Samples the device holds for the client (:data:`BUFFER_SAMPLES`).
    """

    def __init__(
        self,
        signal: Signal,
        *,
        overflow_at_s: float | None = None,
        on_sent: Callable[[int, int], None] | None = None,
        buffer_samples: int = BUFFER_SAMPLES,
    ) -> None:
        self.signal, self.overflow_at_s, self.on_sent = signal, overflow_at_s, on_sent
        self.buffer_samples = buffer_samples
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.settings = {"cont": "0", "ddt": "400", "thr": "1000", "status_interval": "1000",
                         "tr_enabled": "0", "tr_decimation": "1", "tr_pre_trig": "100",
                         "tr_post_dur": "100"}  # fmt: skip
        self.filter = "none-none kHz, order 0"
        self.recording = False
        self.ended = False  # the signal is over (and, once the records are fetched, serving)
        self.overflows = 0
        self.records_sent = 0
        self._records: deque[tuple[int, np.ndarray]] = deque()  # (first index, counts)
        self._blocks: Iterator[Any] | None = None
        self._pending = np.zeros(0, np.int16)
        self._pending_first = 0
        self._t0 = 0.0
        self._stop = threading.Event()
        self._trai = 0

    def serve(self) -> None:
        """Answer commands until :meth:`stop`, or the signal's end once its last records were
        fetched (run it on a thread of its own)."""
        buffer = b""
        while not self._stop.is_set() and not (self.ended and not self._records):
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if self.recording:
                self._acquire()
            if not ready:
                continue
            try:
                buffer += os.read(self._master, 4096)
            except OSError:  # no client has the port open
                time.sleep(0.05)
                continue
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                answer = self.answer(line.decode("ascii", errors="replace").strip())
                if answer:
                    self._write(answer)

    def stop(self) -> None:
        """End :meth:`serve` and close the pseudo-terminal."""
        self._stop.set()

    def close(self) -> None:
        """Close both ends of the pseudo-terminal."""
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._master, view)
            view = view[written:]

    @property
    def decimation(self) -> int:
        """Current ``tr_decimation`` (≥ 1)."""
        return max(1, int(self.settings["tr_decimation"]))

    def answer(self, command: str) -> bytes | None:
        """The answer to one command line (None: the device does not answer it)."""
        words = command.split()
        if not words:
            return None
        name, args = words[0], words[1:]
        if name == "get_info":
            return (
                f"fw_version={FIRMWARE}\ntype=spotWave 201 (emulator)\n"
                f"input_range=94 mV\nadc2uv={ADC_TO_MICROVOLTS}\n\n"
            ).encode()
        if name == "get_status":
            return (
                f"temp=35 °C\nrecording={int(self.recording)}\npulsing=0\n"
                f"buffer_overflows={self.overflows}\n\n"
            ).encode()
        if name == "get_setup":
            lines = [f"{key}={value}" for key, value in self.settings.items()]
            lines += [f"adc2uv={ADC_TO_MICROVOLTS}", f"filter={self.filter}", "", ""]
            return "\n".join(lines).encode()
        if name == "get_ae_data":
            return self._ae_lines()
        if name == "get_tr_data":
            return self._tr_records()
        if name == "start_acq":
            self._start()
        elif name == "stop_acq":
            self.recording = False
        elif name == "set_acq" and len(args) >= 2:
            self.settings[args[0]] = args[1]
        elif name == "set_filter" and len(args) == 3:
            self.filter = f"{args[0]}-{args[1]} kHz, order {args[2]}"
        elif name in ("get_data_log", "get_tr_snapshot"):
            return b"\n"
        return None

    def _start(self) -> None:
        self.recording = True
        if self._blocks is None:
            rate = CLOCK_HZ / self.decimation
            self._blocks = self.signal(rate, ADC_TO_MICROVOLTS * 1e-6)
            first = next(self._blocks, None)  # the first block may be slow (imports, JIT):
            if first is not None:  # the device's clock starts once the signal exists
                self._pending_first, self._pending = first.first_sample, first.samples[0]
            self._t0 = time.monotonic()

    def _acquire(self) -> None:
        """Cut the signal up to the wall clock into ``ddt`` records; lose what overflows."""
        assert self._blocks is not None
        rate = CLOCK_HZ / self.decimation
        record = max(1, round(float(self.settings["ddt"]) * 1e-6 * rate))
        due = round((time.monotonic() - self._t0) * rate)
        while self._pending_first + self._pending.size < due:
            block = next(self._blocks, None)
            if block is None:
                self.recording, self.ended = False, True
                return
            if self._pending.size == 0:
                self._pending_first = block.first_sample
            self._pending = np.concatenate([self._pending, block.samples[0]])
        while self._pending.size >= record:
            first, counts = self._pending_first, self._pending[:record]
            self._pending, self._pending_first = self._pending[record:], first + record
            held = sum(r[1].size for r in self._records)
            forced = self.overflow_at_s is not None and first >= self.overflow_at_s * rate
            if forced or held + record > self.buffer_samples:
                self.overflow_at_s = None if forced else self.overflow_at_s
                self.overflows += 1
                continue  # lost: the buffer is full
            self._records.append((first, counts))

    def _ae_lines(self) -> bytes:
        lines = [
            f"H T={first * self.decimation} A=0 R=0 D={counts.size * self.decimation} C=0 E=0 "
            f"TRAI={self._trai + i + 1} flags=0"
            for i, (first, counts) in enumerate(self._records)
        ]
        return ("\n".join([*lines, "", ""]) if lines else "\n").encode()

    def _tr_records(self) -> bytes:
        parts = []
        while self._records:
            first, counts = self._records.popleft()
            self._trai += 1
            header = f"TRAI={self._trai} T={first * self.decimation} NS={counts.size}\n"
            parts.append(header.encode())
            parts.append(counts.astype("<i2").tobytes())
            self.records_sent += 1
            if self.on_sent is not None:
                self.on_sent(first, counts.size)
        return b"".join([*parts, b"\n"])
