"""Status lines that fit the terminal, plain lines without one, and the heartbeat."""

from __future__ import annotations

import io
import threading
import time

from aemon.commands._live import (
    ENDED_BY_SIGNAL,
    ENDED_BY_SOURCE,
    ENDED_IDLE,
    StatusPrinter,
    fit_fields,
    run_live,
)
from aemon.commands.monitor import status_fields
from aemon.monitor import MonitorStatus


def _busy_status() -> MonitorStatus:
    return MonitorStatus(
        elapsed_s=86_399.0, rate_hz=1_562_500.0, realtime_factor=1.0, samples=10**11,
        events=123_456, gaps=12_345, samples_lost=987_654_321, malformed=3, record_lag_s=0.2,
        detect_lag_s=1.234, latency_p50_ms=55.5, latency_p99_ms=1234.5,
    )  # fmt: skip


def test_status_fits_80_columns_by_dropping_the_least_important_fields() -> None:
    fields = status_fields(_busy_status())
    wide = fit_fields(fields, 200)
    narrow = fit_fields(fields, 79)
    assert len(wide) > 79 and len(narrow) <= 79
    assert "events 123456" in narrow and "86399 s" in narrow  # the important ones stay
    assert "MS/s" in wide and "MS/s" not in narrow  # the least important go first
    assert len(fit_fields(fields, 30)) <= 30


def test_status_labels_its_statistics_and_shows_the_warm_up_apart() -> None:
    from aemon.commands._live import ENDED_BY_SOURCE
    from aemon.commands.monitor import summary_text

    warming = _busy_status()._replace(recent_realtime_factor=0.98)
    line = fit_fields(status_fields(warming), 200)
    assert "latency p50/p99 56/1234 ms" in line and "0.98× rt (10 s)" in line
    assert "warming up, lag  1234 ms" in line
    steady = warming._replace(warmup_s=3.25, warmup_latency_max_ms=4012.0)
    assert "warming up" not in fit_fields(status_fields(steady), 200)
    summary = summary_text(steady, ENDED_BY_SOURCE, None, None)
    assert "latency p50 55.5 ms p99 1234.5 ms after a 3.2 s warm-up" in summary
    assert "(latency up to 4012 ms in it)" in summary


def test_without_a_terminal_a_plain_line_every_10_s() -> None:
    stream = io.StringIO()
    printer = StatusPrinter(quiet=False, stream=stream)
    assert not printer.tty
    printer.show([(0, "first")])
    printer.show([(0, "too soon")])
    printer.message("an event")
    assert stream.getvalue() == "first\nan event\n"  # no carriage returns, no fragments
    quiet = io.StringIO()
    StatusPrinter(quiet=True, stream=quiet).show([(0, "x")], force=True)
    assert quiet.getvalue() == ""


def test_a_silent_live_source_is_reported_then_ends_the_command() -> None:
    stream = io.StringIO()
    started = time.monotonic()
    ended = run_live(
        lambda timeout: time.sleep(timeout) or False,
        lambda: (42, [(0, "frozen")]),
        threading.Event(),
        StatusPrinter(quiet=False, stream=stream),
        live=True,
        stall_s=0.3,
        idle_timeout_s=0.8,
    )
    assert ended == ENDED_IDLE and 0.8 <= time.monotonic() - started < 2.0
    text = stream.getvalue()
    assert "no data for" in text and "ending (--idle-timeout)" in text


def test_a_file_source_has_no_heartbeat_and_stop_or_end_finish_the_loop() -> None:
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    quiet = StatusPrinter(quiet=True, stream=io.StringIO())
    frozen = (lambda timeout: time.sleep(timeout) or False, lambda: (0, []))
    assert run_live(*frozen, stop, quiet, live=False, stall_s=0.1, idle_timeout_s=0.2) == (
        ENDED_BY_SIGNAL
    )
    assert run_live(lambda t: True, lambda: (0, []), threading.Event(), quiet, live=True) == (
        ENDED_BY_SOURCE
    )
