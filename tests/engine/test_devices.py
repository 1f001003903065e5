"""nnqft_engine.devices: device resolution, explicit generators and seeds, dtype names, TF32 policy."""
import numpy as np
import pytest
import torch

from nnqft_engine import devices
from nnqft_engine.devices import (
    DeviceUnavailable,
    derived_seed,
    device_label,
    make_generator,
    prepare_for_theory_comparison,
    resolve_device,
    torch_dtype,
)


@pytest.fixture
def no_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_cpu_only_machine(no_accelerators):
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device() == torch.device("cpu")
    for name, word in (("cuda", "CUDA"), ("mps", "MPS")):
        with pytest.raises(DeviceUnavailable) as info:
            resolve_device(name)
        msg = str(info.value)
        assert word in msg and "\n" not in msg and msg.count(". ") == 0 and len(msg) < 120
    with pytest.raises(DeviceUnavailable, match="unknown device 'tpu'"):
        resolve_device("tpu")
    assert issubclass(DeviceUnavailable, RuntimeError)
    assert device_label(torch.device("cpu")).startswith("CPU (")


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "mps"
    assert resolve_device("mps").type == "mps"


def test_real_machine_matches_torch():
    want = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").type == want


def test_make_generator_streams():
    cpu = torch.device("cpu")
    draw = lambda *path: torch.rand(1000, generator=make_generator(42, cpu, *path))  # noqa: E731
    assert torch.equal(draw(3), draw(3))
    assert torch.equal(draw(), draw())
    assert not torch.equal(draw(3), draw(4))
    assert not torch.equal(draw(3), draw())
    assert not torch.equal(draw(1, 2), draw(2, 1))
    assert not torch.equal(torch.rand(1000, generator=make_generator(43, cpu, 3)), draw(3))
    gen = make_generator(42, cpu, 3)
    assert gen.initial_seed() == derived_seed(42, 3)
    # Independent of (and not disturbing) the global RNG.
    torch.manual_seed(1)
    ref = torch.rand(3)
    torch.manual_seed(1)
    draw(5)
    assert torch.equal(torch.rand(3), ref)


def test_derived_seed_properties():
    assert derived_seed(0) == derived_seed(0)
    assert derived_seed(7, 1, 2) == derived_seed(7, 1, 2)
    seeds = {derived_seed(s, b) for s in range(20) for b in range(50)}
    assert len(seeds) == 1000  # no collisions among nearby (seed, block) pairs
    assert all(0 <= s < 2**63 for s in seeds)
    # The same SeedSequence words, packed into 63 bits.
    st = np.random.SeedSequence([5, 9]).generate_state(2, dtype=np.uint32)
    assert derived_seed(5, 9) == (int(st[0]) << 31) ^ int(st[1])
    assert derived_seed(5, 9) != derived_seed(9, 5) and derived_seed(5, 1) != derived_seed(5, 0, 1)
    # numpy's SeedSequence pads its entropy with zeros, so a trailing 0 in the path is invisible: (s) ≡ (s, 0),
    # (s, 11) ≡ (s, 11, 0). Pinned here so a change of mixing is noticed; no call site needs them distinct.
    assert derived_seed(5) == derived_seed(5, 0) and derived_seed(5, 11) == derived_seed(5, 11, 0)
    assert derived_seed(np.int64(5), np.int32(9)) == derived_seed(5, 9)
    # Well mixed: each of the 63 bits is set in about half of 1000 seeds (binomial SD 15.8 → 4σ = 63).
    bits = np.array([[(s >> i) & 1 for i in range(63)] for s in seeds])
    assert np.all(np.abs(bits.sum(0) - 500) < 4 * np.sqrt(1000 * 0.25))


def test_torch_dtype():
    assert torch_dtype("float32") is torch.float32
    assert torch_dtype("float64") is torch.float64
    with pytest.raises(KeyError):
        torch_dtype("float16")


def test_prepare_for_theory_comparison_turns_tf32_off():
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        prepare_for_theory_comparison(torch.device("cpu"))  # CPU has no TF32: flags untouched
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        # The flags are process-wide; setting them does not need a GPU.
        prepare_for_theory_comparison(torch.device("cuda"))
        assert not torch.backends.cuda.matmul.allow_tf32
        assert not torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn
    assert devices.prepare_for_theory_comparison is prepare_for_theory_comparison
