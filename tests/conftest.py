"""The unit tests run on the CPU profile wherever they run: on a GPU machine too, so their small
CPU models pass the device check of the training loops. Tests marked ``cuda`` run on the GPU and
skip, saying why, on a machine without one."""

import pytest
import torch


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU (skipped without one)")


@pytest.fixture(autouse=True)
def _cpu_profile_unless_marked_cuda(request, monkeypatch):
    if request.node.get_closest_marker("cuda"):
        if not torch.cuda.is_available():
            pytest.skip("needs a CUDA GPU; this machine has none")
        monkeypatch.setenv("GENAI_PROFILE", "gpu")
    else:
        monkeypatch.setenv("GENAI_PROFILE", "cpu")
    monkeypatch.delenv("GENAI_SMOKE", raising=False)
