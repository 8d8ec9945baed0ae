"""The replay transport of the window (a mixin of :class:`aemon.gui.main_window.MainWindow`):
play/pause, speed, step, seek, page steps on the timeline, and moving the display to the event
selected in the table."""

from __future__ import annotations

import logging
from typing import Any

from PySide6 import QtWidgets

from aemon.events.hit import Hit
from aemon.gui.sessions import ReplaySession
from aemon.gui.widgets.control_panel import SPEEDS

logger = logging.getLogger(__name__)

VISIBLE_S = 4.0
"""Signal shown across the spectrogram (s); a seek refills this much before the target."""
KEEP_IN_VIEW = 0.8
"""A selected event inside this middle fraction of the view does not move the display."""
_ACTION = QtWidgets.QAbstractSlider.SliderAction
_PAGE_ACTIONS = {
    a.value
    for a in (_ACTION.SliderPageStepAdd, _ACTION.SliderPageStepSub, _ACTION.SliderSingleStepAdd,
              _ACTION.SliderSingleStepSub, _ACTION.SliderToMinimum, _ACTION.SliderToMaximum)
}  # fmt: skip
"""Timeline actions that move the play position (dragging the handle seeks on release)."""


class ReplayActions:
    """Replay transport; a mixin of ``MainWindow`` (its methods take the window as ``self``,
    typed ``Any`` as in :class:`aemon.gui.label_actions.LabelActions`)."""

    def _replay(self: Any) -> ReplaySession:
        assert isinstance(self.session, ReplaySession)
        return self.session

    def seek(self: Any, time_s: float) -> None:
        """Replay: show the signal up to ``time_s`` (s) and continue from there."""
        self._replay().seek(time_s, VISIBLE_S)

    def show_on_spectrogram(self: Any, event: Hit) -> None:
        """Ring ``event``'s marker; in replay, move the display to it first unless it is
        already well inside the view (the middle :data:`KEEP_IN_VIEW` of it)."""
        if self.channel_view is None or self.spec is None:
            return
        self.channel_view.select(event)
        left, right = self.spec.span_s
        margin = (right - left) * (1 - KEEP_IN_VIEW) / 2
        inside = left + margin <= event.time_s <= right - margin
        if isinstance(self.session, ReplaySession) and not inside:
            self.seek(min(event.time_s + VISIBLE_S / 2, self.session.model.duration_s))
            self.tick()
        else:
            self.channel_view.refresh()  # the ring now, also on a paused display

    def page_step(self: Any, action: int) -> None:
        """A click on the timeline's groove (or Page Up/Down on it): seek there."""
        timeline = self.controls.timeline
        if action in _PAGE_ACTIONS and isinstance(self.session, ReplaySession):
            fraction = timeline.sliderPosition() / timeline.maximum()
            self.seek(fraction * self.session.model.duration_s)

    def _set_page_step(self: Any, duration_s: float) -> None:
        """One page of the timeline (0..1000) is one view (:data:`VISIBLE_S`), 1..10 %."""
        page = round(1000 * VISIBLE_S / max(duration_s, 1e-9))
        self.controls.timeline.setPageStep(min(max(page, 1), 100))

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
