"""Packaging checks that need no build: the spec, the Inno Setup script, the macOS steps, the .deb control file
and the .desktop entry all agree with build_installer.py's names, icons and the version in pyproject.toml.

The real build (PyInstaller, frozen self-test, .tar.gz, .deb) runs in .ci/run's packaging stage.
"""
from __future__ import annotations

import ast
import configparser
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from string import Template

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "packaging")]
import installers  # noqa: E402  (packaging/installers.py)
import make_icons  # noqa: E402  (packaging/make_icons.py)

import build_installer as bi  # noqa: E402

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_version_comes_from_pyproject():
    assert bi.project_version() == VERSION
    for kind in ("tar.gz", "deb", "setup", "dmg"):
        assert VERSION in installers.artefact_name(kind, VERSION)


# --- host capabilities ---------------------------------------------------------------------------------------

def _tools(*present):
    return lambda name: f"/usr/bin/{name}" if name in present else None


def test_linux_report_offers_exactly_the_linux_artefacts():
    caps = {c.artefact: c for c in bi.host_capabilities("Linux", which=_tools("dpkg-deb"))}
    assert {a for a, c in caps.items() if c.possible} == {"onedir bundle", "Linux .tar.gz", "Linux .deb"}
    for other in ("Windows setup .exe", "macOS .app", "macOS .dmg"):
        assert "Linux" in caps[other].why and "cannot build for another OS" in caps[other].why


def test_linux_report_without_dpkg_deb_says_so():
    caps = {c.artefact: c for c in bi.host_capabilities("Linux", which=_tools())}
    assert not caps["Linux .deb"].possible and "dpkg-deb not found" in caps["Linux .deb"].why
    assert caps["Linux .tar.gz"].possible


def test_report_command_on_this_host():
    if sys.platform != "linux":
        pytest.skip("the report's wording is checked for Linux hosts")
    out = subprocess.run([sys.executable, str(ROOT / "build_installer.py"), "--report"], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    has_dpkg = shutil.which("dpkg-deb") is not None
    assert "[can] onedir bundle" in out and "[can] Linux .tar.gz" in out
    assert ("[can] Linux .deb" if has_dpkg else "[cannot] Linux .deb") in out
    assert "[cannot] Windows setup .exe" in out and "[cannot] macOS .dmg" in out


# --- PyInstaller spec ----------------------------------------------------------------------------------------

class _Recorder:
    calls: list = []

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.binaries, self.datas, self.pure, self.scripts = [], list(kwargs.get("datas", [])), [], []
        _Recorder.calls.append((type(self).__name__, self))


def _run_spec(monkeypatch, platform_name: str) -> dict:
    pytest.importorskip("PyInstaller", reason='PyInstaller is in the build extra: pip install -e ".[test,build]"')
    import PyInstaller.utils.hooks as hooks

    monkeypatch.setattr(hooks, "collect_submodules", lambda name: [name])
    monkeypatch.setattr(sys, "platform", platform_name)
    _Recorder.calls = []
    names = {n: type(n, (_Recorder,), {}) for n in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    spec = bi.SPEC_FILE
    exec(compile(spec.read_text(), str(spec), "exec"), {**names, "SPECPATH": str(spec.parent), "__file__": str(spec)})
    return {name: obj for name, obj in _Recorder.calls}


@pytest.mark.parametrize("platform_name", ["linux", "win32", "darwin"])
def test_spec_builds_a_onedir_bundle_with_the_shared_names(monkeypatch, platform_name):
    built = _run_spec(monkeypatch, platform_name)
    exe, coll = built["EXE"].kwargs, built["COLLECT"].kwargs
    assert exe["name"] == bi.EXE_NAME and coll["name"] == bi.EXE_NAME
    assert exe["exclude_binaries"] is True  # onedir: binaries go to COLLECT, not into the executable
    assert exe["upx"] is False and coll["upx"] is False
    assert exe["console"] is (platform_name == "linux")
    if platform_name == "win32":
        assert Path(exe["icon"]).name == bi.ICON_ICO
    analysis = built["Analysis"].kwargs
    assert Path(built["Analysis"].args[0][0]).is_file()
    assert Path(analysis["pathex"][0]) == ROOT
    targets = {dest for _, dest in analysis["datas"]}
    for name in bi.BUNDLED_RESOURCES:
        if (ROOT / "resources" / name).is_dir():
            assert f"resources/{name}" in targets  # app/resources.py looks in sys._MEIPASS/resources
    assert "resources/installer" not in targets


def test_spec_macos_bundle_matches_the_dmg_step(monkeypatch):
    built = _run_spec(monkeypatch, "darwin")
    bundle = built["BUNDLE"].kwargs
    assert bundle["name"] == bi.MAC_APP_NAME
    assert Path(bundle["icon"]).name == bi.ICON_ICNS and Path(built["EXE"].kwargs["icon"]).name == bi.ICON_ICNS
    assert bundle["bundle_identifier"] == bi.BUNDLE_ID
    assert bundle["version"] == VERSION and bundle["info_plist"]["CFBundleShortVersionString"] == VERSION
    # build_installer runs the self-test at <dist>/<MAC_APP_NAME>/Contents/MacOS/<EXE_NAME> and ships that .app.
    monkeypatch.setattr(sys, "platform", "darwin")
    app, exe = bi.bundle_paths(Path("/d"))
    assert app == Path("/d") / bundle["name"] and exe == app / "Contents/MacOS" / built["EXE"].kwargs["name"]
    staging, target = Path("/s"), Path("/d") / installers.artefact_name("dmg", VERSION)
    cmd = installers.hdiutil_command(staging, target)
    assert cmd[:2] == ["hdiutil", "create"] and cmd[cmd.index("-volname") + 1] == bi.APP_NAME
    assert cmd[cmd.index("-srcfolder") + 1] == str(staging) and cmd[cmd.index("-format") + 1] == "UDZO"
    assert cmd[-1].endswith(".dmg")


def test_excluded_files_spare_what_torch_loads():
    assert bi.is_excluded_file("torch/test/test_api") and bi.is_excluded_file(r"torch\include\ATen\ATen.h")
    for kept in ("torch/lib/libtorch_cpu.so", "torch/lib/libtorch_python.so", "torch/lib/libc10.so",
                 "torch/_C.cpython-311-x86_64-linux-gnu.so", "PySide6/Qt/lib/libQt6Core.so.6",
                 "torch/bin/torch_shm_manager"):
        assert not bi.is_excluded_file(kept)


def test_excluded_modules_are_not_imported_by_the_project():
    imported = set()
    for path in list((ROOT / "app").rglob("*.py")) + list((ROOT / "nnqft_engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    clash = {m for m in imported for ex in bi.EXCLUDED_MODULES if m == ex or m.startswith(ex + ".")}
    assert not clash, f"the spec excludes modules the project imports: {clash}"


# --- Windows: Inno Setup -------------------------------------------------------------------------------------

def _iss_defines() -> dict[str, str]:
    text = installers.INNO_SCRIPT.read_text(encoding="utf-8")
    return dict(re.findall(r'^\s*#define\s+(\w+)\s+"([^"]*)"', text, re.M))


def test_inno_setup_script_matches_the_bundle():
    text = installers.INNO_SCRIPT.read_text(encoding="utf-8")
    defines = _iss_defines()
    assert defines["AppName"] == bi.APP_NAME and defines["ExeName"] == bi.EXE_NAME + ".exe"
    assert re.search(r"^AppVersion=\{#AppVersion\}$", text, re.M)
    assert re.search(r"#ifndef AppVersion\s+#error", text)  # the version is never a stale default
    iss_dir = installers.INNO_SCRIPT.parent
    as_path = lambda windows_rel: (iss_dir / windows_rel.replace("\\", "/")).resolve()  # noqa: E731
    # Run by hand from resources/installer, the defaults point where build_installer writes by default.
    assert as_path(defines["SourceDir"]) == ROOT / "dist" / bi.EXE_NAME
    assert as_path(defines["IconFile"]) == ROOT / "build" / "icons" / bi.ICON_ICO
    assert 'Source: "{#SourceDir}\\*"' in text and "recursesubdirs" in text
    assert re.search(r'^Name: "\{autoprograms\}\\\{#AppName\}"; Filename: "\{app\}\\\{#ExeName\}"', text, re.M)


def test_iscc_command_passes_version_bundle_and_icon():
    bundle, dist, icons = Path("C:/b/dist/nnqft"), Path("C:/b/dist"), Path("C:/b/build/icons")
    cmd = installers.iscc_command("ISCC.exe", bundle, dist, icons, VERSION)
    args = dict(a[2:].split("=", 1) for a in cmd if a.startswith("/D"))
    assert args["AppVersion"] == VERSION and Path(args["SourceDir"]) == bundle
    assert Path(args["IconFile"]) == icons / bi.ICON_ICO
    assert args["OutputBaseFilename"] == installers.artefact_name("setup", VERSION)
    assert cmd[-1] == str(installers.INNO_SCRIPT)


# --- icons ---------------------------------------------------------------------------------------------------

def test_platform_icons_are_made_from_the_app_icon(tmp_path):
    QtGui = pytest.importorskip("PySide6.QtGui")
    assert bi.ICON_SOURCE.is_file(), "the app icon the installers need is missing"
    assert make_icons.main([str(bi.ICON_SOURCE), str(tmp_path), bi.PACKAGE_NAME]) == 0

    def png_size(data: bytes) -> int:
        img = QtGui.QImage.fromData(data, "PNG")
        assert not img.isNull() and img.width() == img.height()
        return img.width()

    ico = (tmp_path / bi.ICON_ICO).read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", ico)
    assert (reserved, kind, count) == (0, 1, len(make_icons.ICO_SIZES))
    for i, size in enumerate(sorted(make_icons.ICO_SIZES)):
        w, h, _, _, planes, bpp, length, offset = struct.unpack_from("<BBBBHHII", ico, 6 + 16 * i)
        assert w == h == size % 256 and (planes, bpp) == (1, 32)
        assert png_size(ico[offset:offset + length]) == size

    icns = (tmp_path / bi.ICON_ICNS).read_bytes()
    assert icns[:4] == b"icns" and struct.unpack_from(">I", icns, 4)[0] == len(icns)
    pos, seen = 8, {}
    while pos < len(icns):
        kind, length = icns[pos:pos + 4], struct.unpack_from(">I", icns, pos + 4)[0]
        seen[kind] = png_size(icns[pos + 8:pos + length])
        pos += length
    assert pos == len(icns) and seen == {k: s for k, s in make_icons.ICNS_TYPES}

    for s in make_icons.HICOLOR_SIZES:
        assert png_size((tmp_path / f"hicolor/{s}x{s}/apps/{bi.PACKAGE_NAME}.png").read_bytes()) == s


# --- Linux: .desktop and .deb --------------------------------------------------------------------------------

def test_desktop_entry_is_valid_and_launches_the_installed_app():
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(installers.DESKTOP_FILE, encoding="utf-8")
    assert parser.sections() == ["Desktop Entry"]
    entry = installers.desktop_entry(installers.DESKTOP_FILE)
    assert entry == dict(parser["Desktop Entry"])
    known = {"Type", "Version", "Name", "GenericName", "Comment", "Exec", "TryExec", "Icon", "Terminal",
             "Categories", "Keywords", "StartupNotify", "StartupWMClass", "MimeType"}
    assert set(entry) <= known
    assert entry["Type"] == "Application" and entry["Name"] == bi.APP_NAME and entry["Terminal"] == "false"
    assert installers.exec_command(entry["Exec"]) == [installers.DEB_LAUNCHER] == [entry["TryExec"]]
    assert entry["Icon"] == bi.PACKAGE_NAME  # a theme name, installed as hicolor/NxN/apps/<Icon>.png
    categories = entry["Categories"]
    main_categories = {"AudioVideo", "Development", "Education", "Game", "Graphics", "Network", "Office",
                       "Science", "Settings", "System", "Utility"}
    assert categories.endswith(";") and len(main_categories & set(categories.split(";"))) == 1  # one menu
    assert installers.DESKTOP_FILE.name == f"{bi.PACKAGE_NAME}.desktop"
    validator = shutil.which("desktop-file-validate")
    if validator:
        result = subprocess.run([validator, str(installers.DESKTOP_FILE)], capture_output=True, text=True)
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout


def test_exec_field_codes_are_dropped():
    assert installers.exec_command("/usr/bin/nnqft %F") == ["/usr/bin/nnqft"]
    assert installers.exec_command('"/opt/my app/x" --flag %u') == ["/opt/my app/x", "--flag"]


def test_deb_control_template_fills_to_a_valid_control_file():
    depends, recommends = installers.deb_dependencies()
    fields = {"package": bi.PACKAGE_NAME, "version": VERSION, "architecture": "amd64", "installed_size": "123",
              "depends": depends, "recommends": recommends}
    control = Template(installers.DEB_CONTROL.read_text()).substitute(fields)
    assert "$" not in control and control.endswith("\n")
    parsed, last = {}, None
    for line in control.splitlines():
        if line.startswith(" "):
            assert last == "Description"  # only the description continues over lines
        else:
            last, value = line.split(": ", 1)
            parsed[last] = value
    for key in ("Package", "Version", "Architecture", "Maintainer", "Installed-Size", "Depends", "Description"):
        assert parsed.get(key), key
    assert parsed["Package"] == bi.PACKAGE_NAME and parsed["Version"] == VERSION
    assert "libxkbcommon0" in parsed["Depends"] and "libxcb-icccm4" in parsed["Recommends"]


def test_deb_of_a_bundle_depends_on_its_xcb_plugin_libraries(tmp_path):
    plugin = installers_plugin()
    if plugin is None:
        pytest.skip("PySide6's Linux xcb plugin is not installed here")
    # A bundle laid out as PyInstaller freezes PySide6: the plugin copied, Qt's libraries (linked here, not
    # copied) where its RUNPATH $ORIGIN/../../lib finds them, so ICU and Qt count as shipped, not as packages.
    qt = tmp_path / "bundle" / "_internal" / "PySide6" / "Qt"
    (qt / "plugins" / "platforms").mkdir(parents=True)
    shutil.copy2(plugin, qt / "plugins" / "platforms" / "libqxcb.so")
    (qt / "lib").symlink_to(Path(plugin).parents[2] / "lib")
    depends, recommends = installers.deb_dependencies(tmp_path / "bundle")
    assert "libfontconfig1" in depends                          # needed by Qt's GUI library, not by the plugin
    assert "libzstd1" in depends
    (tmp_path / "bundle" / "_internal" / "libzstd.so.1").write_bytes(b"")   # a library PyInstaller copied in
    assert "libzstd1" not in installers.deb_dependencies(tmp_path / "bundle")[0]
    assert depends.startswith("libc6 (>= 2.28)") and "libxcb-icccm4" in depends and "libxcb-cursor0" in depends
    assert "libxcb-icccm4" not in recommends
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        installers.deb_dependencies(tmp_path / "empty")          # no plugin under it at all: say so


def installers_plugin():
    sys.path.insert(0, str(ROOT))
    from app.qt_platform_check import xcb_plugin
    return xcb_plugin()
    assert installers.DEB_PREFIX == f"/opt/{bi.PACKAGE_NAME}" and installers.DEB_LAUNCHER == "/usr/bin/nnqft"
    assert installers.artefact_name("deb", VERSION).startswith(f"{bi.PACKAGE_NAME}_{VERSION}_")
