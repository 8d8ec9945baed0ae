"""The hit table: a Qt model over :class:`aemon.gui.hit_table.HitTable` and its view.

A reviewed event's row is tinted in its label's colour (:data:`aemon.gui.colours
.LABEL_COLOURS`); a right click on the header shows or hides columns (``utc`` and
``sample_index`` start hidden).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from aemon.events.hit import Hit
from aemon.gui.colours import LABEL_COLOURS
from aemon.gui.hit_table import HIDDEN_COLUMNS, TABLE_COLUMNS, HitTable

logger = logging.getLogger(__name__)

_Index = QtCore.QModelIndex | QtCore.QPersistentModelIndex

_ROW_TINTS = {action: QtGui.QColor(*rgb, 90) for action, rgb in LABEL_COLOURS.items()}
_WIDTHS = {"time_s": 110, "label": 80, "channel": 60, "amplitude_dBAE": 116, "rise_time_us": 100,
           "duration_us": 96, "counts": 60, "energy_eu": 86, "type": 60, "utc": 215}  # fmt: skip


def label_action(text: str) -> str:
    """The review action of a label column text (``→ high`` is a re-typed event)."""
    return "retyped" if text.startswith("→") else text


class HitTableModel(QtCore.QAbstractTableModel):
    """Model/view access to the hit table: cells are formatted when Qt asks for them."""

    def __init__(self, table: HitTable) -> None:
        super().__init__()
        self.table = table

    def rowCount(self, parent: _Index = QtCore.QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.table)

    def columnCount(self, parent: _Index = QtCore.QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(TABLE_COLUMNS)

    def data(self, index: _Index, role: int = QtCore.Qt.ItemDataRole.DisplayRole) -> Any:
        if role == QtCore.Qt.ItemDataRole.DisplayRole and index.isValid():
            return self.table.cell(index.row(), index.column())
        if role == QtCore.Qt.ItemDataRole.BackgroundRole and index.isValid():
            return _ROW_TINTS.get(label_action(self.table.label_of_row(index.row())))
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            return int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(  # noqa: N802
        self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0
    ) -> Any:
        if role != QtCore.Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == QtCore.Qt.Orientation.Horizontal:
            return TABLE_COLUMNS[section]
        return str(section + 1)

    def sort(
        self, column: int, order: QtCore.Qt.SortOrder = QtCore.Qt.SortOrder.AscendingOrder
    ) -> None:
        self.layoutAboutToBeChanged.emit()
        self.table.sort(TABLE_COLUMNS[column], order == QtCore.Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()

    def append(self, events: Sequence[Hit]) -> None:
        """Add events; rows appear at the top (newest first) or in sort order."""
        if not events:
            return
        if self.table.sort_column is None and self.table.descending:
            self.beginInsertRows(QtCore.QModelIndex(), 0, len(events) - 1)
            self.table.append(events)
            self.endInsertRows()
        else:
            self.layoutAboutToBeChanged.emit()
            self.beginResetModel()
            self.table.append(events)
            self.endResetModel()
            self.layoutChanged.emit()

    def reset(self, events: Sequence[Hit]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self.table.clear()
        self.table.append(events)
        self.endResetModel()

    def labels_changed(self) -> None:
        """Redraw the label column and the row tints."""
        if not len(self.table):
            return
        self.dataChanged.emit(
            self.index(0, 0), self.index(len(self.table) - 1, len(TABLE_COLUMNS) - 1)
        )


class HitTableView(QtWidgets.QTableView):
    """The table widget: sortable by header click, whole-row selection."""

    def __init__(self, model: HitTableModel) -> None:
        super().__init__()
        self.setModel(model)
        self.setSortingEnabled(False)
        header = self.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(False)
        header.sectionClicked.connect(self._sort_by)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setDefaultSectionSize(20)
        self.verticalHeader().hide()
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        header.setDefaultSectionSize(96)
        for name, width in _WIDTHS.items():
            self.setColumnWidth(TABLE_COLUMNS.index(name), width)
        header.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)
        self.set_hidden_columns(HIDDEN_COLUMNS)
        self._model = model

    def hidden_columns(self) -> list[str]:
        """Names of the hidden columns."""
        return [n for i, n in enumerate(TABLE_COLUMNS) if self.isColumnHidden(i)]

    def set_hidden_columns(self, names: Sequence[str]) -> None:
        """Hide exactly these columns (unknown names are ignored)."""
        for i, name in enumerate(TABLE_COLUMNS):
            self.setColumnHidden(i, name in names)

    def _column_menu(self, pos: QtCore.QPoint) -> None:
        menu = QtWidgets.QMenu(self)
        for i, name in enumerate(TABLE_COLUMNS):
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(i))
            action.toggled.connect(lambda on, i=i: self.setColumnHidden(i, not on))
        menu.exec(self.horizontalHeader().mapToGlobal(pos))

    def _sort_by(self, column: int) -> None:
        table = self._model.table
        same = table.sort_column == TABLE_COLUMNS[column]
        descending = not table.descending if same else True
        order = (
            QtCore.Qt.SortOrder.DescendingOrder
            if descending
            else QtCore.Qt.SortOrder.AscendingOrder
        )
        self.horizontalHeader().setSortIndicatorShown(True)
        self.horizontalHeader().setSortIndicator(column, order)
        self._model.sort(column, order)

    def selected_index(self) -> int | None:
        """Stored index of the selected event, or None."""
        rows = self.selectionModel().selectedRows()
        return self._model.table.index(rows[0].row()) if rows else None

    def select_index(self, index: int) -> None:
        """Select (and show) stored event ``index``."""
        row = self._model.table.row_of(index)
        self.selectRow(row)
        self.scrollTo(self._model.index(row, 0))
