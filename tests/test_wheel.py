"""`pip install .` (no source tree) must still find the presets, themes and icons: resources/ ships in the
wheel as the data-only package nnqft_resources. Built for real, installed into a folder, run from elsewhere."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_carries_the_resources_and_the_installed_app_finds_them(tmp_path):
    pytest.importorskip("setuptools")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("nnqft_explorer-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = [f"nnqft_resources/{p.relative_to(ROOT / 'resources').as_posix()}"
              for sub in ("presets", "themes", "icons") for p in (ROOT / "resources" / sub).iterdir()]
    assert needed and not [n for n in needed if n not in names]
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)      # what an installer puts in site-packages
    code = ("import app, app.resources as r; from app.session import load_presets; "
            "print(app.__file__); print(r.resource_dir()); print(len(load_presets()))")
    env = {**os.environ, "PYTHONPATH": str(target), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    app_file, res_dir, n_presets = out.stdout.split()
    assert Path(app_file).is_relative_to(target) and Path(res_dir) == target / "nnqft_resources"
    assert int(n_presets) == len(list((ROOT / "resources" / "presets").glob("*.json")))
