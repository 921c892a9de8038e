import pytest
import torch

from utils import device


def test_get_device_follows_what_torch_finds(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert device.get_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert device.get_device().type == "cpu"


def test_profile_device_follows_the_profile_not_only_the_hardware(monkeypatch):
    monkeypatch.setattr(device, "get_device", lambda: torch.device("cuda"))
    monkeypatch.setenv("GENAI_PROFILE", "cpu")  # the quick sizes on a GPU machine run on the CPU
    assert device.profile_device().type == "cpu"
    monkeypatch.setenv("GENAI_PROFILE", "gpu")
    assert device.profile_device().type == "cuda"
    monkeypatch.delenv("GENAI_PROFILE")
    assert device.get_profile(torch.device("cuda")) == "gpu"


def _pretend_gpu(monkeypatch):
    """The profile says cuda, as on a GPU machine; any CUDA call would fail here, which is the point."""
    monkeypatch.setattr(device, "get_device", lambda: torch.device("cuda"))
    monkeypatch.setenv("GENAI_PROFILE", "gpu")


def test_train_refuses_a_cpu_model_before_any_cuda_call(monkeypatch):
    from utils.train import batch_sampler, train

    _pretend_gpu(monkeypatch)
    model = torch.nn.Linear(2, 1)
    get_batch = batch_sampler(torch.randn(8, 2), torch.randn(8, 1), batch_size=4)
    with pytest.raises(ValueError, match=r"on cpu, but the gpu profile trains and samples on cuda"):
        train(model, lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(), get_batch, steps=2, progress=False)


def test_every_loop_and_sampler_refuses_a_model_on_the_wrong_device(monkeypatch):
    from utils import diffusion as D
    from utils.gan import ImageDiscriminator, ImageGenerator, train_gan
    from utils.judge import DigitJudge, fd_digits
    from utils.unet import UNet

    _pretend_gpu(monkeypatch)
    unet, schedule = UNet(in_channels=1, channels=(4, 8)), D.cosine_schedule(10)
    images = torch.rand(8, 1, 8, 8)
    calls = {
        "train_ddpm": lambda: D.train_ddpm(unet, images * 2 - 1, schedule, steps=2, batch=4),
        "ddpm_sample": lambda: D.ddpm_sample(unet, (2, 1, 8, 8), schedule),
        "ddim_sample": lambda: D.ddim_sample(unet, (2, 1, 8, 8), schedule, 5),
        "train_gan": lambda: train_gan(ImageGenerator(8, 1, 8, 8), ImageDiscriminator(1, 8, 8), images * 2 - 1,
                                       steps=1, batch=4),
        "fd_digits": lambda: fd_digits(images, images, DigitJudge()),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match="cuda"):
            call()
            pytest.fail(f"{name} accepted a model on the wrong device")


def test_check_device_passes_plain_functions_and_names_the_argument():
    assert device.check_device(lambda x: x).type == "cpu"
    assert device.check_device(torch.nn.Linear(1, 1), "net").type == "cpu"
    with pytest.raises(ValueError, match="^net is on cpu"):
        device.check_device(torch.nn.Linear(1, 1), "net", expected="cuda")


def test_smoke_runs_take_the_smoke_counts_and_keep_the_shapes(monkeypatch):
    monkeypatch.setenv("GENAI_PROFILE", "gpu")
    monkeypatch.setenv("GENAI_SMOKE", "1")
    assert device.is_smoke()
    assert device.by_profile(cpu=100, gpu=1000, smoke=3) == 3  # a count
    assert device.by_profile(cpu=16, gpu=64) == 64  # a shape: the gpu profile's
    monkeypatch.setenv("GENAI_SMOKE", "0")
    assert not device.is_smoke() and device.by_profile(cpu=100, gpu=1000, smoke=3) == 1000
    monkeypatch.setenv("GENAI_SMOKE", "maybe")
    with pytest.raises(ValueError, match="GENAI_SMOKE"):
        device.is_smoke()


def test_environment_says_where_work_ran(monkeypatch):
    monkeypatch.setenv("GENAI_SMOKE", "1")
    env = device.environment()
    assert env["device"] == "cpu" and env["gpu"] is None and env["torch"] == torch.__version__ and env["smoke"]


def test_to_device_moves_nested_batches():
    batch = (torch.zeros(2), [torch.ones(1)], {"a": torch.ones(1)}, 3)
    moved = device.to_device(batch, torch.device("cpu"))
    assert isinstance(moved, tuple) and isinstance(moved[1], list) and moved[3] == 3


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
