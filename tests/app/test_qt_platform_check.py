"""The launcher's xcb check: DT_NEEDED of PySide6's libqxcb.so resolved like the loader, missing ones named with
apt/dnf/pacman commands. No Qt is loaded: the lookup is pointed at a made-up ld cache and library path, and, where
this runs as root, the real launcher is started in a private mount namespace that hides libxcb-icccm4."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import qt_platform_check as q

PLUGIN = q.xcb_plugin()
needs_plugin = pytest.mark.skipif(PLUGIN is None or not sys.platform.startswith("linux"),
                                  reason="PySide6's Linux xcb plugin is not installed here")


@needs_plugin
def test_plugin_needs_the_xcb_utility_libraries():
    needed, runpath = q.elf_dynamic(PLUGIN)
    assert "libxcb-icccm.so.4" in needed and "libxcb-cursor.so.0" in needed
    assert any("Qt" in n for n in needed)


@needs_plugin
def test_hidden_icccm_is_named_with_install_commands(tmp_path):
    # A library directory with every needed soname present (empty files) except libxcb-icccm.so.4.
    libdir = tmp_path / "lib"
    libdir.mkdir()
    needed, _ = q.elf_dynamic(PLUGIN)
    cache = {}
    for soname in needed:
        if soname != "libxcb-icccm.so.4" and "Qt" not in soname:
            (libdir / soname).write_bytes(b"")
            cache[soname] = str(libdir / soname)
    missing = q.missing_libraries(PLUGIN, ld_library_path=str(libdir), cache=cache, default_dirs=())
    assert "libxcb-icccm.so.4" in missing
    msg = q.message(missing)
    assert "libxcb-icccm4" in msg and "sudo apt install" in msg and "sudo dnf install" in msg
    assert "sudo pacman -S" in msg and "xcb-util-wm" in msg
    # With it present, nothing the plugin needs directly is reported.
    (libdir / "libxcb-icccm.so.4").write_bytes(b"")
    assert "libxcb-icccm.so.4" not in q.missing_libraries(PLUGIN, ld_library_path=str(libdir), cache=cache,
                                                           default_dirs=())


def test_message_for_unknown_library():
    msg = q.message(["libxcb-cursor.so.0", "libweird.so.9"])
    assert "libxcb-cursor0" in msg and "xcb-util-cursor" in msg and "libweird.so.9" in msg
    assert len(msg.splitlines()) >= 5


def test_check_is_silent_offscreen_or_without_display():
    assert q.check({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}) is None
    assert q.check({}) is None


def test_stale_ld_cache_entry_counts_as_missing(tmp_path):
    # ldconfig's cache can name a file that is gone (the loader then fails): the check must not trust it.
    gone, there = str(tmp_path / "libgone.so.1"), tmp_path / "libthere.so.1"
    there.write_bytes(b"")
    assert q._cached({"libgone.so.1": [gone]}, "libgone.so.1") is None
    assert q._cached({"libthere.so.1": [gone, str(there)]}, "libthere.so.1") == str(there)


@needs_plugin
def test_wayland_sessions_are_not_refused_for_xcb_libraries(monkeypatch):
    monkeypatch.setattr(q, "missing_libraries", lambda *a, **k: ["libxcb-icccm.so.4"])
    # Wayland only: Qt loads its wayland plugin, xcb's libraries are irrelevant.
    assert q.choose_platform({"WAYLAND_DISPLAY": "wayland-0"}) == (None, None)
    # XWayland too: xcb cannot load, so the launcher asks Qt for wayland instead of refusing.
    assert q.choose_platform({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}) == (None, "wayland")
    # xcb asked for explicitly, or plain X11: the message.
    for env in ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, {"DISPLAY": ":0"}):
        problem, platform = q.choose_platform(env)
        assert platform is None and "libxcb-icccm4" in problem


def _can_hide_libraries() -> bool:
    if not (sys.platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0
            and shutil.which("unshare")):
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False).returncode == 0


@needs_plugin
@pytest.mark.slow
@pytest.mark.skipif(not _can_hide_libraries(), reason="needs root and unshare to hide a library from the loader")
def test_launcher_names_hidden_icccm_like_the_loader(tmp_path):
    """The real `python -m app` with libxcb-icccm.so.4 hidden from the real loader: an overlay whiteout over its
    directory, in a mount namespace of this process alone (the host keeps the library)."""
    cached = q._cached(q.ld_cache(), "libxcb-icccm.so.4")
    if cached is None:
        pytest.skip("libxcb-icccm4 is not installed here, so there is nothing to hide")
    libdir = os.path.dirname(os.path.realpath(cached))
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir(), work.mkdir()
    names = " ".join(f"{upper}/{n}" for n in os.listdir(libdir) if n.startswith("libxcb-icccm.so"))
    script = (f"for f in {names}; do mknod $f c 0 0; done && mount -t overlay overlay "
              f"-o lowerdir={libdir},upperdir={upper},workdir={work} {libdir} && "
              f'exec "{sys.executable}" -m app')
    env = dict(os.environ, DISPLAY=":9999", QT_QPA_PLATFORM="", PYTHONPATH=str(Path(__file__).parents[2]))
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    if "overlay" in proc.stderr and "mount" in proc.stderr:
        pytest.skip(f"overlay mount refused here: {proc.stderr.strip()}")
    assert proc.returncode == 1, proc.stderr
    assert "libxcb-icccm.so.4" in proc.stderr and "sudo apt install libxcb-icccm4" in proc.stderr
    assert "sudo dnf install xcb-util-wm" in proc.stderr and "sudo pacman -S xcb-util-wm" in proc.stderr
    assert "qt.qpa" not in proc.stderr                      # Qt never got to print its own guess
    assert os.path.exists(cached)                           # and the host still has the library


@needs_plugin
def test_deb_depends_on_exactly_the_system_libraries_of_the_plugin():
    sonames = q.system_libraries(PLUGIN)
    assert "libxcb-icccm.so.4" in sonames and "libxkbcommon-x11.so.0" in sonames
    assert not any("Qt" in s or s.startswith("libicu") for s in sonames)     # PySide6 ships those itself
    ldd = shutil.which("ldd")
    if ldd:   # the real loader's closure (it also lists the system libraries' own needs) contains all of them
        out = subprocess.run([ldd, str(PLUGIN)], capture_output=True, text=True, timeout=30, check=False).stdout
        resolved = {line.split()[0] for line in out.splitlines() if "=>" in line or line.strip().startswith("/")}
        assert set(sonames) <= {Path(r).name for r in resolved} | {r for r in resolved}
    depends, recommends = q.deb_packages(PLUGIN)
    wanted = {q.PACKAGES[s][0] for s in sonames if s in q.PACKAGES} - {"libc6"}
    assert depends[0] == q.LIBC and set(depends[1:]) == wanted
    assert "libxcb-icccm4" in depends and not set(depends) & set(recommends)


def test_an_unmapped_system_library_stops_the_deb(monkeypatch):
    monkeypatch.setattr(q, "system_libraries", lambda plugin, root=None: ["libxcb-icccm.so.4", "libnew.so.3"])
    with pytest.raises(ValueError, match="libnew.so.3"):
        q.deb_packages("libqxcb.so")


def test_deb_control_comes_from_the_table():
    depends, recommends = q.deb_packages()
    assert "libxkbcommon0" in depends and "libxcb-icccm4" in recommends and "libxcb-cursor0" in recommends
    assert not set(depends) & set(recommends)
    template = open("resources/installer/deb-control.in").read()
    assert "Depends: $depends" in template and "Recommends: $recommends" in template
