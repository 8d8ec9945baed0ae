"""The bar above the trend plots: colour by channel or cluster, k, "Cluster now", and loading
the cluster labels that ``aemon cluster`` wrote."""

from __future__ import annotations

import logging

from PySide6 import QtWidgets

from aemon.gui.widgets.trend_view import COLOUR_MODES

logger = logging.getLogger(__name__)


class ClusterBar(QtWidgets.QWidget):
    """Controls of the trend plots' colour mode; the window connects its signals."""

    def __init__(self) -> None:
        super().__init__()
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(QtWidgets.QLabel("Colour by:"))
        self.colour_by = QtWidgets.QComboBox()
        self.colour_by.addItems(list(COLOUR_MODES))
        layout.addWidget(self.colour_by)
        layout.addSpacing(12)
        layout.addWidget(QtWidgets.QLabel("k"))
        self.k = QtWidgets.QSpinBox()
        self.k.setRange(2, 8)
        self.k.setValue(2)
        self.k.setToolTip("number of clusters")
        layout.addWidget(self.k)
        self.auto = QtWidgets.QCheckBox("auto")
        self.auto.setToolTip("choose k (2-8) by silhouette score, as `aemon cluster --auto`")
        self.auto.toggled.connect(lambda on: self.k.setEnabled(not on))
        layout.addWidget(self.auto)
        self.cluster_now = QtWidgets.QPushButton("Cluster now")
        self.cluster_now.setToolTip(
            "k-means on the latent vectors of the events so far (as `aemon cluster`)"
        )
        layout.addWidget(self.cluster_now)
        self.load = QtWidgets.QPushButton("Load clusters…")
        self.load.setToolTip("cluster labels from a PREFIX.csv/.h5 that `aemon cluster` wrote")
        layout.addWidget(self.load)
        self.status = QtWidgets.QLabel("")
        layout.addWidget(self.status, 1)

    def chosen_k(self) -> int | None:
        """The k asked for, or None for auto."""
        return None if self.auto.isChecked() else self.k.value()
