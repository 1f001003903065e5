"""The app tests' one way to open a main window."""
import pytest


@pytest.fixture
def open_window(qtbot, tmp_path):
    """A factory of main windows: each with its own settings file and no dialogs, the training view paused (a
    synchronous window would otherwise train forever) unless asked otherwise, and shut down at the end of the
    test (asserting its worker stopped, where `check_shutdown`)."""
    from PySide6 import QtCore

    from app.main_window import MainWindow
    windows = []

    def make(state, *, threaded=False, devices=None, show=False, pause_training=True, check_shutdown=True):
        settings = QtCore.QSettings(str(tmp_path / f"settings{len(windows)}.ini"), QtCore.QSettings.Format.IniFormat)
        w = MainWindow(state, threaded=threaded, devices=devices, settings=settings)
        w.setProperty("no_dialogs", True)
        if pause_training:
            w.views["training"].playing = False
        qtbot.addWidget(w)
        if show:
            w.show()
        windows.append((w, check_shutdown))
        return w

    yield make
    for w, check in windows:
        stopped = w.shutdown()
        if check:
            assert stopped
