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


def test_image_grid_alone_fits_the_column():
    narrow = plot.image_grid(torch.rand(8, 1, 8, 8), nrow=4).figure.get_size_inches()
    wide = plot.image_grid(torch.rand(64, 1, 8, 8), nrow=32).figure.get_size_inches()
    assert narrow[0] == pytest.approx(4 * 0.6)  # 0.6 in a picture
    assert wide[0] == pytest.approx(plot.COLUMN_INCHES)  # capped at the column
    assert wide[1] == pytest.approx(2 * plot.COLUMN_INCHES / 32)  # square pictures
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


def test_house_style_figures_fit_the_column_and_record_their_smallest_text():
    with plt.rc_context():  # the style changes rcParams: keep them for this test only
        plot.use_house_style()  # outside IPython: the style only
        _house_style_figures()
    plt.close("all")


def _house_style_figures():
    import io

    from PIL import Image

    fig, axes = plot.figure(5)  # five panels: two to a row, three rows, the sixth cell hidden
    assert len(axes) == 5 and fig.get_size_inches()[0] == pytest.approx(plot.COLUMN_INCHES)
    assert fig.get_size_inches()[1] == pytest.approx(3 * 3.2)
    for ax in axes:
        ax.plot([0, 1], [1, 0])
    axes[0].set_title("small", fontsize=6)
    png, size = plot.figure_png(fig)
    image = Image.open(io.BytesIO(png))
    assert image.info[plot.FONT_KEY] == "6.00"  # the title, not the 9 pt ticks
    assert image.size[0] // plot.SHARPNESS == size["width"]  # shown at half its pixels: sharp on any screen
    assert size["width"] <= plot.COLUMN_PX * 1.05  # cropped to its content, about the column
    single, ax = plot.figure()
    ax.set_axis_off()
    assert plot.smallest_text_pt(single) is None  # no visible text at all
    hidden, ax = plot.figure()
    ax.set_xlim(0, 1)
    ax.text(5, 5, "off the axes, not drawn", fontsize=3, clip_on=False, in_layout=False)
    hidden.canvas.draw()
    assert plot.smallest_text_pt(hidden) == pytest.approx(9)  # the text outside the figure is not counted


def test_rendered_text_size_follows_the_shrink_to_the_column():
    assert plot.rendered_text_px(9, 600) == pytest.approx(12.5)  # narrower than the column: full size
    assert plot.rendered_text_px(9, 1370) == pytest.approx(6.25)  # twice the column: half the size
    assert plot.rendered_text_px(9, 600, column_px=300) == pytest.approx(6.25)


def test_a_table_is_html_in_jupyter_and_aligned_text_in_a_terminal():
    from utils.tables import table

    rows = [{"model": "GAN <minimax>", "modes": 6.333, "share": 0.982},
            {"model": "PacGAN", "modes": 7.9, "share": None}]
    shown = table(rows, formats={"modes": ".1f", "share": ".1%"}, caption="ours")
    html = shown._repr_html_()
    assert html.count("<tr>") == 3 and "overflow-x:auto" in html  # a header and two rows, in a scrolling box
    assert "GAN &lt;minimax&gt;" in html and "98.2%" in html and "6.3" in html and "6.333" not in html
    assert 'text-align:right">7.9<' in html and 'text-align:left">PacGAN<' in html  # numbers right-aligned
    lines = str(shown).splitlines()
    assert lines[0] == "ours" and lines[1].split() == ["model", "modes", "share"]
    assert lines[3].endswith("98.2%") and lines[4].rstrip().endswith("7.9")  # None: an empty cell
    assert len(table([("a", 1), ("bb", 22)], columns=["x", "n"])) == 2
