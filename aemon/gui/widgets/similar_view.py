"""The "similar events" list beside the event detail: the selected event's nearest events in
the embedding's latent space; clicking one shows it."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6 import QtCore, QtWidgets

from aemon.events.hit import Hit

logger = logging.getLogger(__name__)

COLUMNS = ("event", "time (s)", "ch", "distance", "dBAE")
"""Columns of the list; ``event`` is the hit table's event number (arrival order, from 0)."""


class SimilarEventsView(QtWidgets.QWidget):
    """A title line, a count spin box and a table of neighbours.

    Signals:
        chosen(int): The stored hit-table index of the neighbour the user clicked.
        count_changed(int): The number of neighbours asked for changed.
    """

    chosen = QtCore.Signal(int)
    count_changed = QtCore.Signal(int)

    def __init__(self, count: int = 20) -> None:
        super().__init__()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        head = QtWidgets.QHBoxLayout()
        self.title = QtWidgets.QLabel("Similar events")
        self.title.setWordWrap(True)
        head.addWidget(self.title, 1)
        head.addWidget(QtWidgets.QLabel("k"))
        self.count = QtWidgets.QSpinBox()
        self.count.setRange(1, 200)
        self.count.setValue(count)
        self.count.setToolTip("how many nearest events to list")
        self.count.valueChanged.connect(self.count_changed)
        head.addWidget(self.count)
        layout.addLayout(head)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)  # time
        header.setMinimumSectionSize(24)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.cellClicked.connect(self._clicked)
        layout.addWidget(self.table)
        self.indices: list[int] = []
        """Stored hit-table index of each listed row."""
        self.anchor: int | None = None
        """Stored index of the event the list is for."""

    def show_message(self, text: str, anchor: int | None = None) -> None:
        """Empty the list and say why (no event selected, vectors still being computed)."""
        self.anchor = anchor
        self.indices = []
        self.table.setRowCount(0)
        self.title.setText(text)

    def show_neighbours(
        self, anchor: int, rows: Sequence[tuple[int, float, Hit]], pending: int = 0
    ) -> None:
        """List ``(stored index, distance, event)`` rows, nearest first, for event ``anchor``;
        ``pending`` events are not encoded yet (said in the title)."""
        self.anchor = anchor
        self.indices = [index for index, _, _ in rows]
        self.table.setRowCount(len(rows))
        for r, (index, distance, e) in enumerate(rows):
            cells = (
                str(index), f"{e.time_s:.6f}", str(e.channel), f"{distance:.3f}",
                f"{e.amplitude_dBAE:.1f}",
            )  # fmt: skip
            for c, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setTextAlignment(
                    QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
                )
                self.table.setItem(r, c, item)
        more = f"; {pending} events not embedded yet" if pending else ""
        self.title.setText(f"Similar to event {anchor} (latent L1){more}")

    def highlight(self, index: int | None) -> None:
        """Select the row of stored event ``index`` if it is listed (the event shown)."""
        if index in self.indices:
            self.table.selectRow(self.indices.index(index))
        else:
            self.table.clearSelection()

    def _clicked(self, row: int, _column: int) -> None:
        if 0 <= row < len(self.indices):
            self.chosen.emit(self.indices[row])
