"""The hit table: a Qt model over :class:`aemon.gui.hit_table.HitTable` and its view."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from PySide6 import QtCore, QtWidgets

from aemon.events.hit import Hit
from aemon.gui.hit_table import TABLE_COLUMNS, HitTable

logger = logging.getLogger(__name__)

_Index = QtCore.QModelIndex | QtCore.QPersistentModelIndex


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
        """Redraw the label column."""
        column = len(TABLE_COLUMNS) - 1
        if not len(self.table):
            return
        self.dataChanged.emit(
            self.index(0, column), self.index(max(len(self.table) - 1, 0), column)
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
        self.horizontalHeader().setDefaultSectionSize(96)
        self.setColumnWidth(0, 120)
        self.setColumnWidth(1, 215)
        self.setColumnWidth(2, 100)
        self._model = model

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
