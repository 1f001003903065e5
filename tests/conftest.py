"""Test-wide setup: headless Qt before any QApplication exists; modest torch threading."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
