"""The CLI chooses its torch threads from the work size and says why (cli/common.set_threads, issue 15):
small torch calls on one thread, big ones on more, --threads overrides, the choice ends with the command."""
import argparse
import json

import pytest
import torch

from nnqft_engine import threads as engine_threads
from nnqft_engine.cli.common import UsageError, set_threads
from nnqft_engine.cli.main import main as cli_main
from nnqft_engine.threads import SMALL_WORK, choose_threads


def _run(argv, capsys):
    before = torch.get_num_threads()
    code = cli_main(argv)
    captured = capsys.readouterr()
    assert torch.get_num_threads() == before          # the caller's setting survives the command
    return code, captured


def test_sample_chooses_one_thread_for_small_calls_and_says_why(capsys):
    code, cap = _run(["sample", "--x", "0.5,1", "--width", "8", "--ensemble", "2000"], capsys)
    out = json.loads(cap.out)
    basis = out["threads_basis"]
    assert code == 0 and out["threads"] == basis["threads"] == 1
    assert basis["chosen_by"] == "work size" and 0 < basis["largest_call_elements"] < SMALL_WORK
    assert basis["cores"] >= 1


def test_threads_flag_overrides_and_bad_values_are_one_line(capsys):
    code, cap = _run(["sample", "--x", "0.5", "--width", "4", "--ensemble", "300", "--threads", "2"], capsys)
    out = json.loads(cap.out)
    assert code == 0 and out["threads"] == 2 and out["threads_basis"]["chosen_by"] == "--threads"
    code, cap = _run(["sample", "--x", "0.5", "--threads", "0"], capsys)
    assert code == 2 and cap.out == "" and len(cap.err.strip().splitlines()) == 1 and "--threads" in cap.err


def test_flow_training_reports_its_basis(capsys):
    code, cap = _run(["flow", "--ensemble", "4", "--width", "16", "--times", "0,0.5"], capsys)
    out = json.loads(cap.out)
    assert code == 0 and out["threads_basis"]["threads"] == out["threads"] == 1


def test_big_calls_get_more_threads_on_a_big_machine(monkeypatch):
    monkeypatch.setattr(engine_threads, "available_cores", lambda: 16)
    before = torch.get_num_threads()
    try:
        basis = set_threads(argparse.Namespace(threads=None), 1 << 26)
        assert basis["threads"] == choose_threads(1 << 26, cores=16) == torch.get_num_threads() > 1
        assert basis["cores"] == 16
        with pytest.raises(UsageError):
            set_threads(argparse.Namespace(threads=5000), 10)
    finally:
        torch.set_num_threads(before)
