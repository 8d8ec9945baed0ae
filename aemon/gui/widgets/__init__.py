"""Qt widgets of the monitor window; they only draw what the Qt-free view models hold."""

__all__: list[str] = []
