"""README.md against the code: the quick start's commands, every command line it shows (each flag exists), the
presets it names, and the build options it lists. Wording about numbers is checked where the numbers live."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PRESETS = {p.stem: json.loads(p.read_text(encoding="utf-8"))["title"]
           for p in (ROOT / "resources" / "presets").glob("*.json")}


def _joined_lines() -> list[str]:
    return README.replace("\\\n", " ").splitlines()


def _commands(prefix: str) -> list[list[str]]:
    """Every command line (in code blocks or inline code) that starts with `prefix`."""
    found = []
    for line in _joined_lines():
        for chunk in re.findall(r"`([^`]+)`", line) or [line]:
            for part in chunk.split("&&"):
                part = part.split("#")[0].strip()
                if part.startswith(prefix + " "):
                    found.append(shlex.split(part)[len(prefix.split()):])
    return found


def _flags(argv: list[str]) -> set[str]:
    return {a.split("=")[0] for a in argv if a.startswith("--")}


def test_quick_start_opens_the_window_and_runs_the_tests():
    blocks = re.findall(r"```bash\n(.*?)```", README.split("## Quick start")[1].split("\n## ")[0], re.DOTALL)
    app_cmd, test_cmd = (b.strip() for b in blocks[:2])
    for cmd in (app_cmd, test_cmd):
        assert cmd.startswith("python3 -m venv .venv && . .venv/bin/activate")
        assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in cmd
    preset = app_cmd.split("nnqft --preset ")[1].split()[0]
    assert preset in PRESETS
    assert 'pip install -e ".[test]"' in test_cmd and test_cmd.endswith("python -m pytest -q")


@pytest.mark.slow
def test_every_engine_command_line_uses_real_flags(capsys):
    from nnqft_engine.cli.main import COMMANDS, main
    lines = _commands("python -m nnqft_engine")
    assert len(lines) >= 8
    helps = {}
    for argv in lines:
        name = argv[0]
        if name == "COMMAND":                                  # the generic form `python -m nnqft_engine COMMAND …`
            continue
        assert name in COMMANDS, argv
        if name not in helps:
            with pytest.raises(SystemExit):
                main([name, "--help"])
            helps[name] = capsys.readouterr().out
        for flag in _flags(argv):
            assert flag in helps[name], f"README's `{' '.join(argv)}`: {flag} is not a flag of {name}"


def test_every_app_command_line_uses_real_flags_and_presets(capsys):
    from app.__main__ import _parse
    with pytest.raises(SystemExit):
        _parse(["--help"])
    helped = capsys.readouterr().out
    lines = _commands("nnqft")
    assert len(lines) >= 4
    for argv in lines:
        for flag in _flags(argv):
            assert flag in helped, f"README's `nnqft {' '.join(argv)}`: no flag {flag}"
        if "--preset" in argv:
            name = argv[argv.index("--preset") + 1]
            assert name == "NAME" or name in PRESETS, name
    assert all(name in helped for name in PRESETS)           # `nnqft --help` lists them, as the README says


def test_talk_section_names_every_preset_with_its_title():
    talk = README.split("## Giving a talk")[1].split("\n## ")[0]
    for name, title in PRESETS.items():
        assert f"*{title}* (`{name}`)" in talk


def test_build_options_in_the_readme_exist():
    import build_installer as bi
    section = README.split("## Building installers")[1].split("\n## ")[0]
    options = set(re.findall(r"`(--[a-z-]+)", section))
    parser_text = (ROOT / "build_installer.py").read_text(encoding="utf-8")
    for option in options:
        assert f'"{option}"' in parser_text, option
    assert bi.TORCH_VERSION in section
