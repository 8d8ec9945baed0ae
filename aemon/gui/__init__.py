"""PySide6 + pyqtgraph monitor application."""
