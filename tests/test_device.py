import pytest
import torch

from utils import device


def test_get_device_is_cpu_here_without_accelerators():
    assert device.get_device().type in {"cpu", "cuda", "mps"}


def test_profile_follows_environment(monkeypatch):
    monkeypatch.setenv("GENAI_PROFILE", "gpu")
    assert device.get_profile() == "gpu"
    monkeypatch.setenv("GENAI_PROFILE", "CPU")
    assert device.get_profile() == "cpu"


def test_profile_from_device(monkeypatch):
    monkeypatch.delenv("GENAI_PROFILE", raising=False)
    assert device.get_profile(torch.device("cpu")) == "cpu"
    assert device.get_profile(torch.device("cuda")) == "gpu"


def test_bad_profile_names_the_variable(monkeypatch):
    monkeypatch.setenv("GENAI_PROFILE", "tpu")
    with pytest.raises(ValueError, match="GENAI_PROFILE"):
        device.get_profile()


def test_by_profile_picks():
    assert device.by_profile(cpu=1, gpu=2, profile="cpu") == 1
    assert device.by_profile(cpu=1, gpu=2, profile="gpu") == 2
    with pytest.raises(ValueError, match="profile"):
        device.by_profile(cpu=1, gpu=2, profile="big")


def test_seed_repeats_random_streams():
    device.seed(3)
    a = torch.randn(4)
    device.seed(3)
    assert torch.equal(a, torch.randn(4))


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True])
def test_seed_rejects_bad_values(bad):
    with pytest.raises((TypeError, ValueError), match="seed"):
        device.seed(bad)


def test_setup_returns_device_and_profile(capsys):
    dev, profile = device.setup(threads=torch.get_num_threads())
    assert profile in device.PROFILES and isinstance(dev, torch.device)
    assert "profile" in capsys.readouterr().out
    with pytest.raises(ValueError, match="threads"):
        device.setup(threads=0)
