"""The Qt (PySide6 + pyqtgraph) monitor application."""

__all__: list[str] = []
