"""The replay transport of the window (a mixin of :class:`aemon.gui.main_window.MainWindow`):
play/pause, speed, step, seek."""

from __future__ import annotations

import logging
from typing import Any

from aemon.gui.sessions import ReplaySession
from aemon.gui.widgets.control_panel import SPEEDS

logger = logging.getLogger(__name__)

VISIBLE_S = 4.0
"""Signal shown across the spectrogram (s); a seek refills this much before the target."""


class ReplayActions:
    """Replay transport; a mixin of ``MainWindow`` (its methods take the window as ``self``,
    typed ``Any`` as in :class:`aemon.gui.label_actions.LabelActions`)."""

    def _replay(self: Any) -> ReplaySession:
        assert isinstance(self.session, ReplaySession)
        return self.session

    def seek(self: Any, time_s: float) -> None:
        """Replay: show the signal up to ``time_s`` (s) and continue from there."""
        self._replay().seek(time_s, VISIBLE_S)

    def step(self: Any, seconds: float) -> None:
        """Replay: pause and move by ``seconds`` (s)."""
        session = self._replay()
        self.controls.play.setChecked(False)
        if seconds < 0:
            session.seek(session.model.time_s + seconds, VISIBLE_S)
        else:
            self._apply(session.step(seconds))

    def _play_toggled(self: Any, on: bool) -> None:
        if isinstance(self.session, ReplaySession):
            self.session.model.playing = on
            self.controls.play.setText("Pause" if on else "Play")

    def _speed_changed(self: Any, index: int) -> None:
        if isinstance(self.session, ReplaySession):
            self.session.model.speed = SPEEDS[index]

    def _pause_toggled(self: Any, on: bool) -> None:
        if isinstance(self.session, ReplaySession):
            self.controls.play.setChecked(False)
