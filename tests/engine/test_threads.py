"""Thread-count choice: one thread for small work, more only for big work; torch_threads restores."""
import torch

from nnqft_engine.threads import choose_threads, torch_threads


def test_choose_threads():
    assert choose_threads(1000, cores=8) == 1
    assert choose_threads(1000, cores=2) == 1
    assert choose_threads(10**12, cores=8) == 7
    assert choose_threads(10**12, cores=2) == 2
    assert choose_threads(10**12, cores=1) == 1
    counts = [choose_threads(w, cores=16) for w in (1 << 20, 1 << 23, 1 << 25, 1 << 30)]
    assert counts == sorted(counts) and counts[0] == 1 and counts[-1] == 15


def test_torch_threads_restores():
    before = torch.get_num_threads()
    with torch_threads(1) as n:
        assert n == 1 == torch.get_num_threads()
    assert torch.get_num_threads() == before
    with torch_threads(None) as n:
        assert n == before
