"""The engine must import no Qt (napari's layering rule): checked in a fresh interpreter."""
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_engine_imports_no_qt():
    code = ("import sys, nnqft_engine, nnqft_engine.cli.main; "
            "import nnqft_engine.theory.kernels, nnqft_engine.sampling.measure; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'PyQt5', 'PyQt6', 'shiboken6')]; "
            "print(','.join(bad)); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, f"engine imported Qt modules: {res.stdout} {res.stderr}"
