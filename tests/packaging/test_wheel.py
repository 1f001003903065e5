"""`pip install .` (no source tree): the app installs as the package nnqft_app (no top-level `app`), with
resources/ inside it as nnqft_app.data, and every engine subpackage ships. Built for real, installed into a
folder, run from elsewhere."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_carries_the_resources_and_the_installed_app_finds_them(tmp_path):
    pytest.importorskip("setuptools")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("nnqft_explorer-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = [f"nnqft_app/data/{p.relative_to(ROOT / 'resources').as_posix()}"
              for sub in ("presets", "themes", "icons") for p in (ROOT / "resources" / sub).iterdir()]
    assert needed and not [n for n in needed if n not in names]
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top_level == {"nnqft_app", "nnqft_engine"}, top_level
    engine_packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "nnqft_engine").rglob("__init__.py")}
    app_packages = {"nnqft_app/" + p.parent.relative_to(ROOT / "app").as_posix()
                    for p in (ROOT / "app").rglob("__init__.py") if p.parent != ROOT / "app"}
    for pkg in engine_packages | app_packages:
        assert f"{pkg}/__init__.py" in names, f"{pkg} is missing from the wheel (pyproject packages list)"
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)      # what an installer puts in site-packages
    code = ("import nnqft_app, nnqft_app.resources as r; from nnqft_app.session import load_presets; "
            "print(nnqft_app.__file__); print(r.resource_dir()); print(len(load_presets()))")
    env = {**os.environ, "PYTHONPATH": str(target), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    app_file, res_dir, n_presets = out.stdout.split()
    assert Path(app_file).is_relative_to(target) and Path(res_dir) == target / "nnqft_app" / "data"
    assert int(n_presets) == len(list((ROOT / "resources" / "presets").glob("*.json")))
    # The installed app runs: its self-test from the unpacked wheel, away from the source tree.
    report = tmp_path / "selftest.json"
    run = subprocess.run([sys.executable, "-c", "import sys; from nnqft_app.__main__ import main; "
                          f"sys.exit(main(['--self-test', {str(report)!r}]))"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    import json
    assert run.returncode == 0 and json.loads(report.read_text())["ok"], (run.stderr[-2000:], report.read_text()
                                                                          if report.exists() else "no report")
