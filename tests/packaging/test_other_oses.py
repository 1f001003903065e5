"""build_installer.py's Windows- and macOS-only paths, checked on any host: what each OS can make, where the
bundle's executable and a venv's interpreter lie, the Intel-Mac refusal and the Windows zip fallback."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "packaging")]
import installers  # packaging/installers.py

import build_installer as bi


def _tools(*present):
    return lambda name: f"C:/tools/{name}" if name in present else None


def _possible(caps):
    return {c.artefact for c in caps if c.possible}


def test_windows_host_makes_setup_and_zip_and_zip_alone_without_inno_setup(monkeypatch):
    monkeypatch.setattr(bi.Path, "is_file", lambda self: False)         # no ISCC.exe in Program Files either
    with_iscc = bi.host_capabilities("Windows", which=_tools("iscc"), machine="AMD64")
    assert _possible(with_iscc) == {"onedir bundle", "Windows setup .exe", "Windows .zip"}
    without = {c.artefact: c for c in bi.host_capabilities("Windows", which=_tools(), machine="AMD64")}
    assert _possible(without.values()) == {"onedir bundle", "Windows .zip"}
    assert "Inno Setup 6" in without["Windows setup .exe"].why


def test_apple_silicon_makes_app_and_dmg():
    caps = bi.host_capabilities("Darwin", which=_tools("hdiutil"), machine="arm64")
    assert _possible(caps) == {"onedir bundle", "macOS .app", "macOS .dmg"}


def test_intel_mac_is_refused_with_the_reason():
    caps = {c.artefact: c for c in bi.host_capabilities("Darwin", which=_tools("hdiutil"), machine="x86_64")}
    bundle = caps["onedir bundle"]
    assert not bundle.possible and "Intel" in bundle.why and "2.2.2" in bundle.why and "arm64" in bundle.why
    assert bi.TORCH_VERSION in bundle.why


def test_intel_mac_refusal_stops_the_build_before_any_venv(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(bi.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(bi.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(bi, "build_environment", lambda args: pytest.fail("a build venv was started"))
    with pytest.raises(SystemExit) as stop:
        bi.main(["--build-dir", str(tmp_path)])
    assert "Intel" in str(stop.value.code) and "--python" in str(stop.value.code)


@pytest.mark.parametrize("platform_name, exe", [
    ("linux", "nnqft/nnqft"), ("win32", "nnqft/nnqft.exe"),
    ("darwin", "NNQFT Explorer.app/Contents/MacOS/nnqft")])
def test_bundle_executable_per_os_matches_the_release_workflow(platform_name, exe):
    bundle, path = bi.bundle_paths(Path("dist"), platform_name)
    assert path == Path("dist", exe) and path.is_relative_to(bundle)
    workflow = (ROOT / ".github/workflows/release.yml").read_text()
    assert f'exe="dist/{exe}"' in workflow                  # the workflow's own self-test runs this file


def test_venv_interpreter_per_os():
    assert bi.venv_python(Path("v"), "win32") == Path("v/Scripts/python.exe")
    assert bi.venv_python(Path("v"), "darwin") == bi.venv_python(Path("v"), "linux") == Path("v/bin/python")


def test_windows_zip_holds_the_bundle_under_a_versioned_folder(tmp_path):
    bundle = tmp_path / "nnqft"
    (bundle / "_internal" / "resources").mkdir(parents=True)
    (bundle / "nnqft.exe").write_bytes(b"MZ")
    (bundle / "_internal" / "resources" / "preset.json").write_text("{}")
    target = tmp_path / installers.artefact_name("zip", "9.8.7")
    assert installers.make_zip(bundle, target, "9.8.7") == target and target.name.endswith("-windows-x64.zip")
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        assert archive.read("nnqft-explorer-9.8.7/nnqft.exe") == b"MZ"
    assert "nnqft-explorer-9.8.7/_internal/resources/preset.json" in names
    assert all(n.startswith("nnqft-explorer-9.8.7/") for n in names)


def test_make_all_dispatches_by_capability(monkeypatch, tmp_path):
    calls = []
    for name in ("make_tarball", "make_deb", "make_windows_setup", "make_zip", "make_dmg"):
        monkeypatch.setattr(installers, name, lambda *a, _n=name, **k: calls.append(_n) or Path(_n))
    caps = bi.host_capabilities("Windows", which=_tools(), machine="AMD64")
    installers.make_all(caps, bundle=tmp_path, dist=tmp_path, build=tmp_path, icons=tmp_path, version="1")
    assert calls == ["make_zip"]


def test_release_workflow_uploads_what_each_os_makes():
    workflow = (ROOT / ".github/workflows/release.yml").read_text()
    for pattern in ("dist/*.tar.gz", "dist/*.deb", "dist/*-setup.exe", "dist/*.zip", "dist/*.dmg"):
        assert pattern in workflow
    assert f"torch=={bi.TORCH_VERSION}" in workflow                 # the same CPU torch as the build venvs


def test_report_runs_on_this_host():
    out = subprocess.run([sys.executable, str(ROOT / "build_installer.py"), "--report"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert "Windows .zip" in out
