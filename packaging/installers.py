"""The per-OS packaging steps of build_installer.py: Linux .tar.gz and .deb, Windows Inno Setup, macOS .dmg.

Each step takes the frozen bundle PyInstaller made and returns the artefact's path. Names and layout come from
build_installer (one source for the spec, these steps and the tests).
"""
from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path
from string import Template

import build_installer as bi

DEB_PREFIX = f"/opt/{bi.PACKAGE_NAME}"
DEB_LAUNCHER = f"/usr/bin/{bi.EXE_NAME}"
DESKTOP_FILE = bi.INSTALLER_DIR / f"{bi.PACKAGE_NAME}.desktop"
DEB_CONTROL = bi.INSTALLER_DIR / "deb-control.in"
INNO_SCRIPT = bi.INSTALLER_DIR / f"{bi.PACKAGE_NAME}.iss"


def deb_dependencies(bundle: Path | None = None) -> tuple[str, str]:
    """The control file's Depends and Recommends from app/qt_platform_check.py: with a bundle, exactly the
    packages of the system libraries its xcb plugin needs (what the launcher checks before Qt starts);
    without one, the fixed core list. Loaded by path: no Qt, no app package import."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "qt_platform_check", Path(__file__).resolve().parent.parent / "app" / "qt_platform_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plugin = next(iter(sorted(bundle.rglob("libqxcb.so"))), None) if bundle else None
    if bundle is not None and plugin is None:
        raise SystemExit(f"build_installer: no libqxcb.so in {bundle}: the bundle has no X11 platform plugin")
    required, recommended = module.deb_packages(plugin, bundle)
    return ", ".join(required), ", ".join(recommended)


def machine() -> str:
    return {"amd64": "x86_64", "aarch64": "arm64"}.get(platform.machine().lower(), platform.machine().lower())


def artefact_name(kind: str, version: str) -> str:
    """File names of the installers: e.g. nnqft-explorer-0.1.0-linux-x86_64.tar.gz."""
    return {
        "tar.gz": f"{bi.PACKAGE_NAME}-{version}-linux-{machine()}.tar.gz",
        "deb": f"{bi.PACKAGE_NAME}_{version}_{deb_architecture()}.deb",
        "setup": f"{bi.PACKAGE_NAME}-{version}-windows-x64-setup",  # Inno Setup appends .exe
        "zip": f"{bi.PACKAGE_NAME}-{version}-windows-x64.zip",
        "dmg": f"{bi.PACKAGE_NAME}-{version}-macos-{machine()}.dmg",
    }[kind]


def make_all(caps, *, bundle: Path, dist: Path, build: Path, icons: Path, version: str) -> list[Path]:
    can = {c.artefact for c in caps if c.possible}
    made = []
    if "Linux .tar.gz" in can:
        made.append(make_tarball(bundle, dist / artefact_name("tar.gz", version), version))
    if "Linux .deb" in can:
        made.append(make_deb(bundle, dist / artefact_name("deb", version), build / "deb-root", icons, version))
    if "Windows setup .exe" in can:
        made.append(make_windows_setup(bundle, dist, icons, version))
    if "Windows .zip" in can:
        made.append(make_zip(bundle, dist / artefact_name("zip", version), version))
    if "macOS .dmg" in can:
        made.append(make_dmg(bundle, dist / artefact_name("dmg", version), build / "dmg-root"))
    return made


def make_tarball(bundle: Path, target: Path, version: str) -> Path:
    print(f"Archiving {target.name}", flush=True)
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=f"{bi.PACKAGE_NAME}-{version}")
    return target


def make_zip(bundle: Path, target: Path, version: str) -> Path:
    """The portable Windows build: the onedir bundle in a folder nnqft-explorer-VERSION (run nnqft.exe)."""
    print(f"Archiving {target.name}", flush=True)
    top = f"{bi.PACKAGE_NAME}-{version}"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(bundle.rglob("*")):
            archive.write(path, Path(top, path.relative_to(bundle)).as_posix())
    return target


def deb_architecture() -> str:
    try:
        return subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"x86_64": "amd64", "arm64": "arm64"}.get(machine(), machine())


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # the staging tree costs no space or time
    except OSError:
        shutil.copy2(src, dst)


def make_deb(bundle: Path, target: Path, root: Path, icons: Path, version: str) -> Path:
    """/opt/nnqft-explorer (the bundle), /usr/bin/nnqft -> its executable, a .desktop entry and hicolor icons."""
    print(f"Staging {target.name}", flush=True)
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(bundle, root / DEB_PREFIX.lstrip("/"), symlinks=True, copy_function=_link_or_copy)
    launcher = root / DEB_LAUNCHER.lstrip("/")
    launcher.parent.mkdir(parents=True)
    launcher.symlink_to(f"{DEB_PREFIX}/{bi.EXE_NAME}")
    applications = root / "usr/share/applications"
    applications.mkdir(parents=True)
    shutil.copy2(DESKTOP_FILE, applications / DESKTOP_FILE.name)
    shutil.copytree(icons / "hicolor", root / "usr/share/icons/hicolor")
    for folder, dirs, files in os.walk(root):
        os.chmod(folder, 0o755)
        for f in files:
            p = os.path.join(folder, f)
            if not os.path.islink(p):
                os.chmod(p, 0o755 if os.stat(p).st_mode & 0o100 else 0o644)
    (root / "DEBIAN").mkdir(mode=0o755)
    depends, recommends = deb_dependencies(bundle)
    fields = {"package": bi.PACKAGE_NAME, "version": version, "architecture": deb_architecture(),
              "installed_size": str(bi.tree_size(root) // 1024 + 1), "depends": depends, "recommends": recommends}
    (root / "DEBIAN/control").write_text(Template(DEB_CONTROL.read_text()).substitute(fields))
    print(f"Building {target.name} with dpkg-deb", flush=True)
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", str(root), str(target)],
                   check=True)
    shutil.rmtree(root)
    return target


def iscc_command(iscc: str, bundle: Path, dist: Path, icons: Path, version: str) -> list[str]:
    return [iscc, f"/DAppVersion={version}", f"/DSourceDir={bundle}", f"/DOutputDir={dist}",
            f"/DIconFile={icons / bi.ICON_ICO}", f"/DOutputBaseFilename={artefact_name('setup', version)}",
            str(INNO_SCRIPT)]


def make_windows_setup(bundle: Path, dist: Path, icons: Path, version: str) -> Path:
    subprocess.run(iscc_command(bi.find_iscc(), bundle, dist, icons, version), check=True)
    return dist / (artefact_name("setup", version) + ".exe")


def hdiutil_command(staging: Path, target: Path) -> list[str]:
    return ["hdiutil", "create", "-volname", bi.APP_NAME, "-srcfolder", str(staging), "-ov", "-format", "UDZO",
            str(target)]


def make_dmg(app: Path, target: Path, staging: Path) -> Path:
    """A compressed disk image holding the .app and a link to /Applications to drag it onto."""
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copytree(app, staging / app.name, symlinks=True)
    (staging / "Applications").symlink_to("/Applications")
    subprocess.run(hdiutil_command(staging, target), check=True)
    shutil.rmtree(staging)
    return target


def desktop_entry(path: Path) -> dict[str, str]:
    """The [Desktop Entry] group of a .desktop file as key -> value."""
    entry, group = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("["):
            group = line
        elif group == "[Desktop Entry]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            entry[key.strip()] = value.strip()
    return entry


def exec_command(exec_value: str) -> list[str]:
    """The Exec key as an argv, without the field codes (%f, %U, ...) a launcher would expand."""
    return [a for a in shlex.split(exec_value) if not (len(a) == 2 and a.startswith("%"))]


def install_check(deb: Path, build: Path) -> dict:
    """dpkg -i the package, run the self-test the way the menu entry starts the app, then dpkg -r it."""
    try:
        subprocess.run(["dpkg", "-i", str(deb)], check=True)
        desktop = Path("/usr/share/applications") / DESKTOP_FILE.name
        entry = desktop_entry(desktop)
        icon = Path("/usr/share/icons/hicolor/256x256/apps") / f"{entry['Icon']}.png"
        command = exec_command(entry["Exec"])
        print(f"Installed: {desktop}, {icon} ({icon.is_file()}), {DEB_LAUNCHER} -> {os.path.realpath(DEB_LAUNCHER)}")
        result = bi.run_self_test(command, build / "installed-self-test.json", build / "installed-self-test.log")
        bi.describe_self_test(result, f"Installed self-test via the .desktop Exec ({' '.join(command)})")
        ok, why = result["ok"], "" if result["ok"] else "self-test through the installed path failed"
        if not icon.is_file():
            ok, why = False, f"the menu icon {icon} was not installed"
    finally:  # also after a failed install, which dpkg leaves half-configured
        subprocess.run(["dpkg", "-r", bi.PACKAGE_NAME], check=True)
    if Path(DEB_PREFIX).exists() or Path(DEB_LAUNCHER).exists():
        ok, why = False, f"{DEB_PREFIX} or {DEB_LAUNCHER} left behind after dpkg -r"
    return {"ok": ok, "why": why, "command": command, "timings": result["timings"], "wall_s": result["wall_s"]}
