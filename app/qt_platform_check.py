"""Before Qt starts on Linux/X11: are the system libraries of PySide6's xcb platform plugin all there?

Qt's own message when one is missing ("xcb-cursor0 or libxcb-cursor0 is needed") names at most one library and
often the wrong one. This module reads the DT_NEEDED entries of plugins/platforms/libqxcb.so and, recursively,
of the Qt libraries it needs (a small pure-Python ELF reader), resolves each like the dynamic loader
(LD_LIBRARY_PATH, the object's RUNPATH/RPATH with $ORIGIN, the ld.so cache from `ldconfig -p`, default dirs) and,
for the ones not found, names the packages for apt, dnf and pacman. No Qt import: testable anywhere.
The same walk over the bundled plugin, through `PACKAGES`, writes the .deb's Depends (packaging/installers.py).
A Wayland session is left to Qt's wayland plugin (`choose_platform`).
"""
from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

# soname prefix → (Debian/Ubuntu, Fedora, Arch) package
PACKAGES: dict[str, tuple[str, str, str]] = {
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libX11.so.6": ("libx11-6", "libX11", "libx11"),
    "libSM.so.6": ("libsm6", "libSM", "libsm"),
    "libICE.so.6": ("libice6", "libICE", "libice"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl", "libglvnd"),
    "libGL.so.1": ("libgl1", "libglvnd-glx", "libglvnd"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl", "libglvnd"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx", "libglvnd"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype", "freetype2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs", "dbus"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libstdc++.so.6": ("libstdc++6", "libstdc++", "gcc-libs"),
    "libgcc_s.so.1": ("libgcc-s1", "libgcc", "gcc-libs"),
    "libz.so.1": ("zlib1g", "zlib", "zlib"),
    "libzstd.so.1": ("libzstd1", "libzstd", "zstd"),
    "libc.so.6": ("libc6", "glibc", "glibc"),
    "libm.so.6": ("libc6", "glibc", "glibc"),
}
LIBC = "libc6 (>= 2.28)"                          # the .deb's floor for glibc (PyInstaller's manylinux_2_28 base)
# The .deb's Depends when there is no bundled plugin to read (deb_packages() without one): the core, not X11.
DEB_REQUIRED = ("libfontconfig1", "libfreetype6", "libglib2.0-0", "libdbus-1-3", "libgl1", "libegl1", "libx11-6",
                "libxkbcommon0")
DEFAULT_DIRS = ("/lib64", "/usr/lib64", "/lib", "/usr/lib", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")
_DT_NEEDED, _DT_RPATH, _DT_RUNPATH, _DT_STRTAB = 1, 15, 29, 5


def deb_packages(plugin: str | os.PathLike | None = None, root: str | os.PathLike | None = None
                 ) -> tuple[list[str], list[str]]:
    """(Depends, Recommends) package lists for the .deb. Given the bundle's libqxcb.so, Depends is exactly the
    packages of the system libraries it needs, directly or through Qt's own libraries (the sonames the launcher
    checks, resolved the same way), and an unmapped one is an error rather than a silent gap; without it, a
    fixed core list. Recommends: the rest of PACKAGES."""
    if plugin is None:
        depends = [LIBC, *DEB_REQUIRED]
    else:
        sonames = system_libraries(plugin, root)
        unmapped = [s for s in sonames if s not in PACKAGES and not s.startswith("ld-linux")]
        if unmapped:
            raise ValueError(f"no Debian package known for {', '.join(unmapped)}: add it to PACKAGES")
        depends = [LIBC, *sorted({PACKAGES[s][0] for s in sonames if s in PACKAGES} - {"libc6"})]
    debs = sorted({v[0] for v in PACKAGES.values()} - {"libc6"})
    return depends, [p for p in debs if p not in depends]


def elf_dynamic(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """(DT_NEEDED sonames, RUNPATH/RPATH directories) of an ELF shared object; ([], []) if not ELF."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF":
        return [], []
    is64, end = data[4] == 2, "<" if data[5] == 1 else ">"
    if is64:
        phoff, phentsize, phnum = struct.unpack_from(end + "Q", data, 32)[0], *struct.unpack_from(end + "HH", data, 54)
    else:
        phoff, phentsize, phnum = struct.unpack_from(end + "I", data, 28)[0], *struct.unpack_from(end + "HH", data, 42)
    loads, dynamic = [], None
    for i in range(phnum):
        off = phoff + i * phentsize
        if is64:
            p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(end + "IIQQQQ", data, off)
        else:
            p_type, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(end + "IIIII", data, off)
        if p_type == 1:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == 2:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return [], []
    fmt, size = (end + "qQ", 16) if is64 else (end + "iI", 8)
    entries = []
    for off in range(dynamic[0], dynamic[0] + dynamic[1], size):
        tag, val = struct.unpack_from(fmt, data, off)
        if tag == 0:
            break
        entries.append((tag, val))
    strtab = next((v for t, v in entries if t == _DT_STRTAB), None)
    if strtab is None:
        return [], []
    base = next((o + strtab - va for va, o, sz in loads if va <= strtab < va + sz), strtab)

    def string(i: int) -> str:
        stop = data.index(b"\0", base + i)
        return data[base + i:stop].decode("utf-8", "replace")
    needed = [string(v) for t, v in entries if t == _DT_NEEDED]
    paths = [d for t, v in entries if t in (_DT_RUNPATH, _DT_RPATH) for d in string(v).split(":") if d]
    origin = str(Path(path).absolute().parent)      # as ld.so: the directory it was opened from, links kept
    return needed, [p.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for p in paths]


def ld_cache(ldconfig: str = "ldconfig") -> dict[str, list[str]]:
    """soname → paths from `ldconfig -p` (empty when ldconfig is absent). A soname can be listed more than once
    (32- and 64-bit), and the cache can list a file that has since been removed: callers check existence."""
    for exe in (ldconfig, "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            out = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        cache: dict[str, list[str]] = {}
        for line in out.splitlines()[1:]:
            if "=>" in line:
                name, path = line.split("=>", 1)
                cache.setdefault(name.strip().split(" ")[0], []).append(path.strip())
        return cache
    return {}


def _cached(cache: dict, soname: str) -> str | None:
    """The first cached path of soname that still exists (the loader, too, fails on a stale entry)."""
    paths = cache.get(soname) or []
    return next((p for p in ([paths] if isinstance(paths, str) else paths) if os.path.exists(p)), None)


def _walk(plugin, env_dirs, cache, default_dirs):
    """(soname, path or None) for every library the plugin needs, following the Qt libraries that are found."""
    seen, todo = set(), [(str(plugin), [])]
    while todo:
        obj, inherited = todo.pop()
        needed, runpath = elf_dynamic(obj)
        for soname in needed:
            if soname in seen:
                continue
            seen.add(soname)
            found = next((os.path.join(d, soname) for d in [*env_dirs, *runpath, *inherited]
                          if os.path.exists(os.path.join(d, soname))), None)
            if found is None:
                found = _cached(cache, soname) or next((os.path.join(d, soname) for d in default_dirs
                                                        if os.path.exists(os.path.join(d, soname))), None)
            if found is not None and ("Qt" in soname or "qt" in soname.lower()):   # PySide6's own: follow
                todo.append((found, runpath))
            yield soname, found


def system_libraries(plugin: str | os.PathLike, root: str | os.PathLike | None = None) -> list[str]:
    """Sonames the plugin needs from the system: not Qt's own, not found inside `root` (default: the PySide6
    folder holding Qt/plugins/platforms/libqxcb.so; for a frozen bundle, the bundle)."""
    root = os.path.abspath(root or Path(plugin).absolute().parents[3])
    # PyInstaller also copies some system libraries into the bundle (found there through the LD_LIBRARY_PATH its
    # bootloader sets): a soname shipped anywhere under root is not a system need.
    shipped = {f.name for f in Path(root).rglob("*.so*")}
    out = []
    for soname, found in _walk(plugin, [], ld_cache(), DEFAULT_DIRS):
        inside = found is not None and os.path.abspath(found).startswith(root + os.sep)   # where it lies, not links
        if not (inside or soname in shipped or "Qt" in soname or "qt" in soname.lower()):
            out.append(soname)
    return sorted(out)


def missing_libraries(plugin: str | os.PathLike, *, ld_library_path: str | None = None,
                      cache: dict[str, list[str]] | None = None, default_dirs=DEFAULT_DIRS) -> list[str]:
    """Sonames the plugin needs, directly or through libraries found beside it, that the loader cannot find."""
    env_dirs = [d for d in (os.environ.get("LD_LIBRARY_PATH", "") if ld_library_path is None
                            else ld_library_path).split(":") if d]
    cache = ld_cache() if cache is None else cache
    return [soname for soname, found in _walk(plugin, env_dirs, cache, default_dirs) if found is None]


def message(missing: list[str]) -> str:
    """What to install, per distribution, for these missing sonames."""
    rows = [PACKAGES.get(s) for s in missing]
    known = [r for r in rows if r]
    unknown = [s for s, r in zip(missing, rows) if not r]
    lines = ["NN-QFT Explorer cannot start its X11 (xcb) display: these system libraries are missing: "
             + ", ".join(missing) + "."]
    if known:
        apt, dnf, pac = (" ".join(sorted({r[i] for r in known})) for i in range(3))
        lines += ["Install them with:", f"  Debian/Ubuntu:  sudo apt install {apt}", f"  Fedora:         sudo dnf install {dnf}",
                  f"  Arch:           sudo pacman -S {pac}"]
    if unknown:
        lines.append("Find the package providing " + ", ".join(unknown) + " with your distribution's package search.")
    lines.append("(Or run without a display: QT_QPA_PLATFORM=offscreen.)")
    return "\n".join(lines)


def xcb_plugin() -> Path | None:
    try:
        import importlib.util
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        for sub in ("Qt/plugins/platforms", "plugins/platforms"):
            p = Path(root) / sub / "libqxcb.so"
            if p.exists():
                return p
    return None


def choose_platform(environ=None) -> tuple[str | None, str | None]:
    """(message to show and exit with, QT_QPA_PLATFORM to set): (None, None) when Qt can be left to itself.

    Only an X11 display (DISPLAY) makes Qt load the xcb plugin; a Wayland-only session uses the wayland plugin,
    whose libraries are not xcb's. With both (XWayland) and xcb's libraries missing, Qt may still pick xcb (it
    does on some desktops), so the launcher asks for wayland rather than refusing to start."""
    env = os.environ if environ is None else environ
    requested = env.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or requested not in ("", "xcb") or not env.get("DISPLAY"):
        return None, None
    plugin = xcb_plugin()
    if plugin is None:
        return None, None
    try:
        missing = missing_libraries(plugin, ld_library_path=env.get("LD_LIBRARY_PATH", ""))
    except (OSError, ValueError, struct.error, IndexError):
        return None, None         # unreadable: let Qt speak for itself
    if not missing:
        return None, None
    if env.get("WAYLAND_DISPLAY") and not requested:
        return None, "wayland"
    return message(missing), None


def check(environ=None) -> str | None:
    """The message to show when the xcb plugin will fail to load, else None (not Linux, not X11, or fine)."""
    return choose_platform(environ)[0]
