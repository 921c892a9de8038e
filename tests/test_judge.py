import pytest
import torch

from utils import judge as judge_module
from utils.data import load_digits
from utils.judge import DigitJudge, accuracy, fd_digits, load_judge, save_judge, shift_digits


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("judge") / "judge.pt"
    model = judge_module.train_judge(steps=300, progress=False)
    save_judge(model, path)
    return model, path


def test_features_and_logits_shapes():
    model = DigitJudge().eval()
    x = torch.rand(5, 1, 8, 8)
    assert model.features(x).shape == (5, 64) and model(x).shape == (5, 10)


def test_short_training_already_classifies(trained):
    model, _ = trained
    digits = load_digits()
    assert accuracy(model, digits.x_test, digits.y_test) > 0.85


def test_saved_judge_loads_the_same_weights(trained):
    model, path = trained
    loaded = load_judge(path)
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(loaded(x), model.eval()(x))


def test_fd_digits_orders_real_and_noise(trained):
    model, _ = trained
    digits = load_digits()
    real = fd_digits(digits.x_train, digits.x_test, model)
    noise = fd_digits(torch.rand(500, 1, 8, 8), digits.x_test, model)
    assert 0 < real < noise


def test_shift_moves_by_at_most_one_pixel():
    x = torch.zeros(50, 1, 8, 8)
    x[:, :, 4, 4] = 1
    shifted = shift_digits(x, torch.Generator().manual_seed(0))
    rows, cols = torch.nonzero(shifted[:, 0], as_tuple=True)[1:]
    assert shifted.sum() == 50 and (rows - 4).abs().max() <= 1 and (cols - 4).abs().max() <= 1


def test_bad_images_are_named():
    with pytest.raises(ValueError, match="images_a"):
        fd_digits(torch.rand(5, 8, 8), torch.rand(5, 1, 8, 8), DigitJudge())
    with pytest.raises(TypeError, match="floating"):
        DigitJudge().features(torch.zeros(2, 1, 8, 8, dtype=torch.long))
    with pytest.raises(TypeError, match="Tensor"):
        DigitJudge().features([[0.0]])
