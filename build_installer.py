#!/usr/bin/env python3
"""Freeze NN-QFT Explorer with PyInstaller (onedir, no UPX) and make this host's installers.

    python build_installer.py [--dist DIR] [--cuda] [--python PY] [--report] [--install-check] [--cold]

Steps: a clean build virtualenv (CPU torch and PySide6-Essentials only; reused while pyproject.toml is unchanged),
platform icons, PyInstaller with packaging/nnqft.spec, the frozen app's `--self-test` (the build fails if it
does), then per host: Linux .tar.gz + .deb, Windows Inno Setup installer, macOS .app + .dmg. It says which
artefacts this host can and cannot make, and why. Packaging steps live in packaging/installers.py.
"""
from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
APP_NAME = "NNQFT Explorer"
EXE_NAME = "nnqft"
PACKAGE_NAME = "nnqft-explorer"  # .deb name, install folder, desktop-file id and icon name
MAC_APP_NAME = f"{APP_NAME}.app"
BUNDLE_ID = "org.nnqft.explorer"
ICON_SOURCE = ROOT / "resources" / "icons" / "nnqft.png"
ICON_ICO, ICON_ICNS = f"{PACKAGE_NAME}.ico", f"{PACKAGE_NAME}.icns"
INSTALLER_DIR = ROOT / "resources" / "installer"
SPEC_FILE = ROOT / "packaging" / "nnqft.spec"
BUNDLED_RESOURCES = ("icons", "presets", "themes")
MAX_BUNDLE_BYTES = 1_200_000_000
TORCH_VERSION = "2.13.0"
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_TORCH_INDEX = "https://download.pytorch.org/whl/cu128"  # Windows only: PyPI's Linux torch already has CUDA
# PyTorch's last wheel for Intel Macs is 2.2.2: a build venv with TORCH_VERSION cannot exist there.
INTEL_MAC_WHY = (f"torch {TORCH_VERSION} has no wheel for macOS on Intel (x86_64); PyTorch's last Intel-Mac release "
                 "is 2.2.2. Build on Apple silicon (arm64), or pass --python with an environment that has torch")
SELF_TEST_TIMEOUT_S = 300
COLD_START_TARGET_S = 5.0  # process start to first painted frame, reported (timing on a busy host varies)

# Modules the app never imports but hooks would drag in from a shared environment (CI reuses its test venv).
EXCLUDED_MODULES = [
    "tkinter", "matplotlib", "IPython", "jupyter_client", "notebook", "pytest", "_pytest", "pytestqt",
    "hypothesis", "expecttest", "tensorboard", "torch.utils.tensorboard", "PyQt5", "PyQt6", "PySide2",
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtPdf", "PySide6.QtPdfWidgets",
    "PySide6.QtNetwork", "PySide6.QtSql", "PySide6.QtDesigner", "PySide6.QtUiTools", "PySide6.QtHelp",
]
# Files the torch hook collects as data but nothing loads at run time: C++ tests, headers, CMake files.
EXCLUDED_FILES = [
    "torch/test/*", "torch/bin/*", "torch/include/*", "torch/share/*", "torch/lib/libtorchbind_test.*",
    "torch/lib/libaoti_custom_ops.*", "torch/lib/libbackend_with_compiler.*", "torch/lib/libjitbackend_test.*",
    "*.a", "*.lib", "*.pdb",
]


KEPT_FILES = ["torch/bin/torch_shm_manager"]  # `import torch` checks that it exists


def is_excluded_file(dest: str) -> bool:
    dest = dest.replace("\\", "/")
    return dest not in KEPT_FILES and any(fnmatch.fnmatch(dest, pattern) for pattern in EXCLUDED_FILES)


def project_version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^\[project\][^\[]*?^version\s*=\s*"([^"]+)"', text, re.M | re.S)
    if not match:
        raise SystemExit("build_installer: no [project] version in pyproject.toml")
    return match.group(1)


@dataclass(frozen=True)
class Capability:
    artefact: str
    possible: bool
    why: str


def find_iscc(which=shutil.which) -> str | None:
    found = which("iscc") or which("ISCC")
    default = Path(os.environ.get("ProgramFiles(x86)", r"C:\Program Files (x86)")) / "Inno Setup 6" / "ISCC.exe"
    return found or (str(default) if default.is_file() else None)


def host_capabilities(system: str | None = None, which=shutil.which, machine: str | None = None) -> list[Capability]:
    """Which artefacts this host can make. PyInstaller freezes only for the OS it runs on, so each OS's
    installers need that OS and its packaging tool."""
    system = system or platform.system()
    machine = (machine or platform.machine()).lower()
    linux, windows, mac = system == "Linux", system == "Windows", system == "Darwin"
    elsewhere = f"this host runs {system}; PyInstaller cannot build for another OS"
    intel_mac = mac and machine in ("x86_64", "amd64", "i386")
    caps = [Capability("onedir bundle", not intel_mac, INTEL_MAC_WHY if intel_mac
                       else f"PyInstaller freezes the app for the host ({system})")]
    caps.append(Capability("Linux .tar.gz", linux, "archive of the Linux onedir bundle" if linux else elsewhere))
    if linux:
        dpkg = which("dpkg-deb")
        caps.append(Capability("Linux .deb", bool(dpkg), "built with dpkg-deb" if dpkg
                               else "dpkg-deb not found (Debian/Ubuntu: apt-get install dpkg)"))
    else:
        caps.append(Capability("Linux .deb", False, elsewhere))
    if windows:
        iscc = find_iscc(which)
        caps.append(Capability("Windows setup .exe", bool(iscc), f"Inno Setup compiler at {iscc}" if iscc
                               else "Inno Setup 6 (ISCC.exe) not found: install it or put ISCC.exe on PATH"))
    else:
        caps.append(Capability("Windows setup .exe", False, f"{elsewhere}; needs Windows with Inno Setup 6"))
    # The portable archive needs nothing but Python: made on every Windows host, with or without Inno Setup.
    caps.append(Capability("Windows .zip", windows, "zip of the Windows onedir bundle (no installer needed)"
                           if windows else f"{elsewhere}; needs Windows"))
    caps.append(Capability("macOS .app", mac, "PyInstaller's BUNDLE step" if mac else f"{elsewhere}; needs macOS"))
    if mac:
        hdiutil = which("hdiutil")
        caps.append(Capability("macOS .dmg", bool(hdiutil), "built with hdiutil" if hdiutil
                               else "hdiutil not found (it ships with macOS)"))
    else:
        caps.append(Capability("macOS .dmg", False, f"{elsewhere}; needs macOS with hdiutil"))
    return caps


def print_capabilities(caps: list[Capability]) -> None:
    print("Artefacts on this host:")
    for c in caps:
        print(f"  [{'can' if c.possible else 'cannot'}] {c.artefact}: {c.why}")


def run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def torch_requirement(cuda: bool, system: str, index: str | None) -> list[str]:
    req = [f"torch=={TORCH_VERSION}"]
    if index:
        return req + ["--index-url", index]
    if cuda:
        return req if system == "Linux" else req + ["--index-url", CUDA_TORCH_INDEX]
    # On Linux PyPI's wheel is the CUDA one, so the CPU index is consulted too and pip prefers 2.13.0+cpu (a
    # local CPU wheel, as on the project's machines, also wins). Elsewhere PyPI's wheel is already CPU (macOS:
    # CPU + MPS). torch alone (--no-deps): its dependencies come from PyPI with the project's own.
    if system == "Linux":
        return req + ["--no-deps", "--extra-index-url", CPU_TORCH_INDEX, "--retries", "1"]
    return req


def build_environment(args) -> Path:
    """The interpreter to build with: --python as given, else a venv keyed on pyproject.toml and the variant."""
    if args.python:
        return Path(args.python)
    variant = "cuda" if args.cuda else "cpu"
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    key.update(f"{variant} {TORCH_VERSION} {args.torch_index} {sys.version}".encode())
    venv = Path(args.env_dir) / f"buildenv-{variant}-{key.hexdigest()[:12]}"
    python = venv_python(venv)
    if (venv / ".complete").is_file():
        print(f"Reusing build environment {venv}")
        return python
    print(f"Creating build environment {venv} ({variant} torch, PySide6-Essentials)")
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", venv])
    pip = [python, "-m", "pip", "install", "-q"]
    run(pip + torch_requirement(args.cuda, platform.system(), args.torch_index))
    run(pip + ["-e", f"{ROOT}[build]"])
    (venv / ".complete").write_text("ok\n")
    return python


def venv_python(venv: Path, platform_name: str | None = None) -> Path:
    """A virtualenv's interpreter: Scripts\\python.exe on Windows, bin/python elsewhere."""
    return venv / ("Scripts/python.exe" if (platform_name or sys.platform) == "win32" else "bin/python")


def check_environment(python: Path, cuda: bool) -> dict:
    probe = ("import json, importlib.util as u, torch, PyInstaller; print(json.dumps({'torch': torch.__version__,"
             " 'cuda': torch.version.cuda, 'pyinstaller': PyInstaller.__version__, 'qt': [m for m in "
             "('PySide6', 'PyQt6', 'PyQt5', 'PySide2') if u.find_spec(m)]}))")
    info = json.loads(subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True).stdout)
    print(f"Build environment: torch {info['torch']} (CUDA {info['cuda']}), PyInstaller {info['pyinstaller']}, "
          f"Qt bindings {info['qt']}")
    if not cuda and info["cuda"]:
        raise SystemExit("build_installer: this environment's torch is a CUDA build; pass --cuda or use a CPU torch")
    if "PySide6" not in info["qt"]:
        raise SystemExit("build_installer: PySide6 is not installed in the build environment")
    if len(info["qt"]) > 1:
        print(f"  note: other Qt bindings present ({info['qt'][1:]}); the spec excludes them")
    return info


def tree_size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        total += sum(os.lstat(os.path.join(folder, f)).st_size for f in files)
    return total


def bundle_paths(dist: Path, platform_name: str | None = None) -> tuple[Path, Path]:
    """(the folder or .app to ship, the executable inside it) for this host (or `platform_name`, a sys.platform)."""
    platform_name = platform_name or sys.platform
    if platform_name == "darwin":
        app = dist / MAC_APP_NAME
        return app, app / "Contents" / "MacOS" / EXE_NAME
    folder = dist / EXE_NAME
    return folder, folder / (EXE_NAME + (".exe" if platform_name == "win32" else ""))


def drop_page_cache() -> bool:
    """Linux as root: forget cached file pages so that the next start really reads the bundle from disk."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        return True
    except (OSError, AttributeError):  # not root, not Linux (Windows has no os.sync)
        return False


def run_self_test(command: list, out_json: Path, log: Path, cold: bool = False) -> dict:
    """Run `COMMAND --self-test OUT.json` headless; the verdict is its exit code and its JSON's "ok"."""
    launch = out_json.with_suffix(".launch.json")  # written by packaging/nnqft_launcher.py
    for stale in (out_json, launch):
        stale.unlink(missing_ok=True)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NNQFT_LAUNCH_TIMING=str(launch))
    dropped = drop_page_cache() if cold else False
    start = time.perf_counter()
    with open(log, "wb") as sink:
        try:
            rc = subprocess.run([str(c) for c in command] + ["--self-test", str(out_json)], env=env,
                                stdout=sink, stderr=subprocess.STDOUT, timeout=SELF_TEST_TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    wall = time.perf_counter() - start
    report = json.loads(out_json.read_text()) if out_json.is_file() else {}
    pre_main = json.loads(launch.read_text()).get("pre_main_s") if launch.is_file() else None
    first_frame = report.get("timings", {}).get("first_frame_s")
    cold = round(pre_main + first_frame, 3) if pre_main is not None and first_frame is not None else None
    return {"ok": rc == 0 and report.get("ok") is True, "returncode": rc, "wall_s": round(wall, 2),
            "page_cache_dropped": dropped, "pre_main_s": pre_main, "cold_start_to_first_frame_s": cold,
            "timings": report.get("timings", {}), "report": report, "log": str(log)}


def describe_self_test(result: dict, label: str) -> None:
    t = result["timings"]
    print(f"{label}: {'PASSED' if result['ok'] else 'FAILED'} (exit {result['returncode']}, wall "
          f"{result['wall_s']} s{', page cache dropped first' if result['page_cache_dropped'] else ''})")
    if t:
        lat = t.get("slider_latency_ms", {})
        print(f"  cold start to first frame {result['cold_start_to_first_frame_s']} s (process start to main "
              f"{result['pre_main_s']} s + main to first frame {t.get('first_frame_s')} s; startup "
              f"{t.get('startup_s')} s), slider latency median {lat.get('median')} ms, p90 {lat.get('p90')} ms")
    if not result["ok"]:
        bad = {k: v for k, v in result["report"].get("views", {}).items() if not v.get("ok")}
        print(f"  failing views: {json.dumps(bad)[:2000]}" if bad else "  (no per-view detail in the report)")
        tail = Path(result["log"]).read_text(errors="replace")[-3000:]
        print(f"  last output ({result['log']}):\n{tail}")


def parse_args(argv: list[str] | None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dist", default=str(ROOT / "dist"), help="output folder for the bundle and installers")
    p.add_argument("--build-dir", default=str(ROOT / "build"), help="work folder (PyInstaller, staging, logs)")
    p.add_argument("--env-dir", default=None, help="where build virtualenvs live (default: BUILD_DIR)")
    p.add_argument("--python", help="build with this interpreter's environment instead of a build venv")
    p.add_argument("--cuda", action="store_true", help="CUDA build of torch (large; not on macOS)")
    p.add_argument("--torch-index", help="package index to take torch from (overrides the defaults)")
    p.add_argument("--icon", default=str(ICON_SOURCE), help="PNG the platform icons are made from")
    p.add_argument("--report", action="store_true", help="only say which artefacts this host can make")
    p.add_argument("--install-check", action="store_true",
                   help="Linux, root: dpkg -i the .deb, self-test through its .desktop Exec, dpkg -r")
    p.add_argument("--cold", action="store_true", help="Linux, root: drop the page cache before the self-test")
    args = p.parse_args(argv)
    args.env_dir = args.env_dir or args.build_dir
    if args.cuda and sys.platform == "darwin":
        p.error("--cuda: macOS has no CUDA torch (the default build already uses MPS)")
    return args


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT / "packaging"))
    import installers  # packaging/installers.py: tar.gz, .deb, Inno Setup, .dmg

    args = parse_args(argv)
    caps = host_capabilities()
    print_capabilities(caps)
    if args.report:
        return 0
    if not caps[0].possible and not args.python:
        raise SystemExit(f"build_installer: {caps[0].why}")
    started = time.perf_counter()
    dist, build = Path(args.dist).resolve(), Path(args.build_dir).resolve()
    build.mkdir(parents=True, exist_ok=True)
    version = project_version()
    python = build_environment(args)
    env_info = check_environment(python, args.cuda)

    icons = build / "icons"
    if not Path(args.icon).is_file():
        raise SystemExit(f"build_installer: the app icon {args.icon} is missing")
    run([python, ROOT / "packaging" / "make_icons.py", args.icon, icons, PACKAGE_NAME])
    t0 = time.perf_counter()
    run([python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", dist,
         "--workpath", build / "pyinstaller", SPEC_FILE], env=dict(os.environ, NNQFT_ICON_DIR=str(icons)))
    freeze_s = time.perf_counter() - t0
    bundle, exe = bundle_paths(dist)
    size = tree_size(bundle)
    print(f"Bundle {bundle}: {size / 1e9:.3f} GB ({size / 2**30:.3f} GiB), frozen in {freeze_s:.0f} s")

    test = run_self_test([exe], build / "self-test.json", build / "self-test.log", cold=args.cold)
    describe_self_test(test, "Frozen self-test")
    summary = {"version": version, "environment": env_info, "bundle": str(bundle), "bundle_bytes": size,
               "freeze_s": round(freeze_s, 1), "self_test": {k: v for k, v in test.items() if k != "report"}}
    failures = [] if test["ok"] else ["frozen self-test failed"]
    if size > MAX_BUNDLE_BYTES and not args.cuda:
        failures.append(f"bundle is {size / 1e9:.2f} GB, over the {MAX_BUNDLE_BYTES / 1e9:.1f} GB limit")

    made = []
    if not failures:
        made = installers.make_all(caps, bundle=bundle, dist=dist, build=build, icons=icons, version=version)
        if args.install_check:
            deb = next((p for p in made if p.suffix == ".deb"), None)
            check = installers.install_check(deb, build) if deb else {"ok": False, "why": "no .deb was built"}
            summary["install_check"] = check
            if not check["ok"]:
                failures.append(f"installed .deb check failed: {check.get('why', '')}")
    summary["artefacts"] = {str(p): p.stat().st_size for p in made}
    summary["total_s"] = round(time.perf_counter() - started, 1)
    (build / "build-summary.json").write_text(json.dumps(summary, indent=2))

    print("\nSummary")
    print_capabilities(caps)
    for p in made:
        print(f"  made {p} ({p.stat().st_size / 1e6:.0f} MB)")
    cold = test["cold_start_to_first_frame_s"]
    target = f"target < {COLD_START_TARGET_S:g} s"
    verdict = "" if cold is None else (f" ({target}: met)" if cold < COLD_START_TARGET_S else
                                       f" ({target}: MISSED; see the load average in {build / 'self-test.json'})")
    print(f"  bundle {size / 1e9:.3f} GB (limit {MAX_BUNDLE_BYTES / 1e9:.1f} GB); freeze {freeze_s:.0f} s; "
          f"total {summary['total_s']:.0f} s; frozen cold start to first frame {cold} s{verdict}")
    for f in failures:
        print(f"BUILD FAILED: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as err:
        sys.exit(f"BUILD FAILED: {' '.join(map(str, err.cmd))} exited with status {err.returncode}")
