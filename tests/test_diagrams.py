"""Each diagram of utils.diagrams draws a figure in the house style, offline."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from utils import diagrams  # noqa: E402

DIAGRAMS = [name for name in dir(diagrams) if name.endswith("_diagram")]


def test_there_are_diagrams():
    assert {"attention_diagram", "transformer_block_diagram", "gan_loop_diagram"} <= set(DIAGRAMS)


@pytest.mark.parametrize("name", DIAGRAMS)
def test_each_diagram_is_a_figure_in_the_house_style(name):
    fig = getattr(diagrams, name)()
    try:
        assert isinstance(fig, Figure)
        width, height = fig.get_size_inches()
        assert width <= 8 and height <= 4, f"{name}: figsize {width} x {height}, at most (8, 4)"
        sizes = [t.get_fontsize() for ax in fig.axes for t in ax.texts]
        assert sizes and min(sizes) >= diagrams.FONTSIZE, f"{name}: text smaller than {diagrams.FONTSIZE}"
    finally:
        plt.close(fig)


def test_the_attention_diagram_refuses_a_bad_length():
    with pytest.raises(ValueError, match="T must be"):
        diagrams.attention_diagram(T=1)


def test_the_diffusion_chain_and_lora_diagrams_are_there():
    for name in ("diffusion_chain_diagram", "lora_diagram"):
        fig = getattr(diagrams, name)()
        try:
            texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
            assert {"diffusion_chain_diagram": "x_0", "lora_diagram": "frozen"}[name] in texts
        finally:
            plt.close(fig)
