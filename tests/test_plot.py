import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from utils import plot  # noqa: E402
from utils.data import toy_2d  # noqa: E402


def test_image_grid_gray_and_rgb():
    ax = plot.image_grid(torch.rand(10, 1, 8, 8), nrow=4, title="t")
    assert ax.get_title() == "t"
    plot.image_grid(torch.rand(5, 3, 6, 6), nrow=5)
    plt.close("all")


def test_curves_scatter_and_density():
    plot.loss_curves({"a": [3.0, 2.0, 1.0] * 10, "b": ([0, 5, 10], [1.0, 0.5, 0.2])}, smooth=5, logy=True)
    plot.scatter_2d(torch.randn(50, 2), labels=torch.arange(50) % 3, lim=3)
    plot.density_contours(toy_2d("ring").log_density, lim=3, resolution=40)
    plt.close("all")


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="images"):
        plot.image_grid(torch.rand(4, 8, 8))
    with pytest.raises(ValueError, match="NaN"):
        plot.image_grid(torch.full((1, 1, 2, 2), float("nan")))
    with pytest.raises(ValueError, match="points"):
        plot.scatter_2d(torch.randn(5, 3))
    with pytest.raises(ValueError, match="curves"):
        plot.loss_curves({})
    with pytest.raises(ValueError, match="lim"):
        plot.density_contours(toy_2d("ring").log_density, lim=0)
    plt.close("all")
