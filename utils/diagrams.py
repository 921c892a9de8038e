"""Pictures of the book's mechanisms, drawn with matplotlib so that the book builds offline.

One function per diagram, each returning a :class:`matplotlib.figure.Figure` that a chapter shows
before the code of the mechanism (``utils.diagrams.attention_diagram(); plt.show()``):

* :func:`attention_diagram`: causal self-attention: queries, keys, values, the masked scores.
* :func:`transformer_block_diagram`: a pre-norm transformer block inside the GPT.
* :func:`gan_loop_diagram`: one step of the GAN game, the discriminator's and the generator's.

House style, for every diagram added here:

* draw with :func:`box` (a rounded box with centred text) and :func:`arrow` (an arrow between two
  points, optionally labelled); axes off, coordinates in data units of ``ax.set(xlim, ylim)``;
* colours from ``COLOURS`` by role: ``"data"`` (inputs and outputs), ``"model"`` (learned layers),
  ``"op"`` (fixed operations), ``"loss"``, ``"grad"`` (gradient paths, dashed arrows);
* ``figsize`` at most ``(8, 4)`` and text at ``FONTSIZE`` (10) or larger, so a diagram reads on a
  laptop screen without zooming;
* no numbers from a run: a diagram shows the idea, the chapter's code measures it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

FONTSIZE = 10
COLOURS = {"data": "#dbe9f6", "model": "#fde3c8", "op": "#e8e8e8", "loss": "#f6d5d5", "grad": "#c0392b",
           "edge": "#333333", "mask": "#9e9e9e"}


def box(ax, xy: tuple[float, float], text: str, role: str = "model", width: float = 1.6, height: float = 0.6,
        fontsize: int = FONTSIZE) -> tuple[float, float]:
    """A rounded box centred at ``xy`` with ``text``, filled by ``role``'s colour; returns ``xy``."""
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.04",
                                facecolor=COLOURS[role], edgecolor=COLOURS["edge"], linewidth=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)
    return xy


def arrow(ax, start: tuple[float, float], end: tuple[float, float], text: str | None = None,
          gradient: bool = False, bend: float = 0.0, fontsize: int = FONTSIZE) -> None:
    """An arrow from ``start`` to ``end``; dashed and red when it carries a ``gradient``."""
    colour = COLOURS["grad"] if gradient else COLOURS["edge"]
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=colour, linewidth=1.2,
                                 linestyle="--" if gradient else "-", connectionstyle=f"arc3,rad={bend}",
                                 shrinkA=2, shrinkB=2))
    if text:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.12, text, ha="center", va="bottom",
                fontsize=fontsize, color=colour)


def _canvas(width: float, height: float, xlim: tuple[float, float], ylim: tuple[float, float], ncols: int = 1):
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False)
    for ax in axes[0]:
        ax.set_axis_off()
    axes[0][0].set(xlim=xlim, ylim=ylim)
    return fig, axes[0]


def attention_diagram(T: int = 5) -> Figure:
    """Causal self-attention for one head: the flow from x to y (left), and the (T, T) weights, masked (right)."""
    if not isinstance(T, int) or not 2 <= T <= 8:
        raise ValueError(f"T must be an int from 2 to 8 (positions drawn), got {T!r}")
    fig, (left, right) = _canvas(8, 4, (0, 6.2), (0, 6.4), ncols=2)
    x = box(left, (0.9, 3.2), "x\n(B, T, C)", "data", width=1.3, height=0.9)
    q = box(left, (3.0, 5.4), "queries Q\n= x W_q", "model", width=1.8, height=0.8)
    k = box(left, (3.0, 4.1), "keys K\n= x W_k", "model", width=1.8, height=0.8)
    v = box(left, (3.0, 1.1), "values V\n= x W_v", "model", width=1.8, height=0.8)
    for end in (q, k, v):
        arrow(left, (x[0] + 0.65, x[1]), (end[0] - 0.9, end[1]))
    s = box(left, (5.1, 4.75), "Q K^T / sqrt(D),\nmask, softmax", "op", width=2.0, height=0.8)
    arrow(left, (q[0] + 0.9, q[1]), (s[0] - 0.95, s[1] + 0.2))
    arrow(left, (k[0] + 0.9, k[1]), (s[0] - 0.95, s[1] - 0.2))
    y = box(left, (5.1, 2.6), "weights @ V\n= y (B, T, D)", "data", width=1.9, height=0.8)
    arrow(left, (s[0], s[1] - 0.4), (y[0], y[1] + 0.4), "weights")
    arrow(left, (v[0] + 0.9, v[1]), (y[0] - 0.4, y[1] - 0.4))
    left.set_title("one head: asked (Q), held (K), passed on (V)", fontsize=FONTSIZE)

    right.set(xlim=(-1.2, T + 0.2), ylim=(T + 0.6, -1.3), aspect="equal")
    for row in range(T):
        for col in range(T):
            allowed = col <= row
            right.add_patch(Rectangle((col, row), 1, 1, facecolor="#8fbfe0" if allowed else COLOURS["mask"],
                                      edgecolor="white", hatch=None if allowed else "//"))
            right.text(col + 0.5, row + 0.5, "w" if allowed else "-inf", ha="center", va="center",
                       fontsize=FONTSIZE, color="black" if allowed else "white")
        right.text(-0.15, row + 0.5, f"q{row + 1}", ha="right", va="center", fontsize=FONTSIZE)
    for col in range(T):
        right.text(col + 0.5, -0.15, f"k{col + 1}", ha="center", va="bottom", fontsize=FONTSIZE)
    right.text(T / 2, -0.85, "keys (earlier positions)", ha="center", fontsize=FONTSIZE)
    right.text(T / 2, T + 0.45, "causal mask: a query sees keys up to its own position;\n"
               "each row's weights sum to 1 after the softmax", ha="center", va="top", fontsize=FONTSIZE)
    fig.tight_layout()
    return fig


def transformer_block_diagram() -> Figure:
    """The GPT: embeddings, n_layer pre-norm blocks (attention, then the MLP, each a residual branch), the head."""
    fig, (ax,) = _canvas(8, 4, (0, 16), (0, 8))
    box(ax, (1.3, 1.0), "token ids\n(B, T)", "data", width=2.2, height=1.0)
    box(ax, (1.3, 3.2), "token + position\nembeddings", "model", width=2.4, height=1.1)
    arrow(ax, (1.3, 1.5), (1.3, 2.65))
    # the block, inside a frame
    ax.add_patch(FancyBboxPatch((3.1, 0.4), 8.6, 6.2, boxstyle="round,pad=0.1", facecolor="none",
                                edgecolor=COLOURS["edge"], linestyle=":"))
    ax.text(7.4, 6.85, "one block, repeated n_layer times", ha="center", fontsize=FONTSIZE)
    box(ax, (4.4, 4.6), "LayerNorm", "op", width=2.0, height=0.8)
    box(ax, (4.4, 2.6), "causal self-\nattention", "model", width=2.0, height=1.0)
    box(ax, (6.6, 1.0), "+", "op", width=0.7, height=0.7)
    box(ax, (8.6, 4.6), "LayerNorm", "op", width=2.0, height=0.8)
    box(ax, (8.6, 2.6), "MLP: C -> 4C,\nGELU, -> C", "model", width=2.2, height=1.0)
    box(ax, (10.9, 1.0), "+", "op", width=0.7, height=0.7)
    arrow(ax, (2.5, 3.2), (3.4, 4.4))
    arrow(ax, (4.4, 4.2), (4.4, 3.1))
    arrow(ax, (4.4, 2.1), (6.25, 1.1))
    arrow(ax, (2.5, 3.0), (6.25, 0.9), bend=0.25)
    ax.text(3.6, 0.75, "residual", fontsize=FONTSIZE)
    arrow(ax, (6.95, 1.1), (7.7, 4.3))
    arrow(ax, (8.6, 4.2), (8.6, 3.1))
    arrow(ax, (8.6, 2.1), (10.55, 1.1))
    arrow(ax, (6.95, 0.9), (10.55, 0.9), bend=0.25)
    ax.text(8.1, 0.05, "residual", fontsize=FONTSIZE)
    ax.text(4.4, 5.5, "positions exchange\ninformation", ha="center", fontsize=FONTSIZE)
    ax.text(8.6, 5.5, "each position\ncomputes alone", ha="center", fontsize=FONTSIZE)
    box(ax, (13.6, 2.6), "final LayerNorm", "op", width=2.6, height=0.8)
    box(ax, (13.6, 4.6), "linear head\n(tied to token emb.)", "model", width=3.2, height=1.0)
    box(ax, (13.6, 6.7), "logits (B, T, V)", "data", width=2.8, height=0.8)
    arrow(ax, (11.25, 1.0), (13.0, 2.2))
    arrow(ax, (13.6, 3.0), (13.6, 4.1))
    arrow(ax, (13.6, 5.1), (13.6, 6.3))
    fig.tight_layout()
    return fig


def gan_loop_diagram() -> Figure:
    """One step of the game: the discriminator learns real from fake, then the generator learns through it."""
    fig, axes = _canvas(8, 4, (0, 8), (0, 6), ncols=2)
    for ax, title, generator_step in ((axes[0], "1. discriminator step", False),
                                      (axes[1], "2. generator step", True)):
        ax.set(xlim=(0, 8), ylim=(0, 6))
        ax.set_title(title, fontsize=FONTSIZE)
        z = box(ax, (1.0, 4.6), "noise z", "data", width=1.6)
        g = box(ax, (3.3, 4.6), "generator G", "model", width=2.0)
        arrow(ax, (1.8, 4.6), (2.3, 4.6))
        fake = box(ax, (3.3, 3.0), "fake G(z)", "data", width=1.8)
        arrow(ax, (3.3, 4.3), (3.3, 3.3))
        d = box(ax, (5.6, 2.0), "discriminator D", "model", width=2.4)
        arrow(ax, (4.2, 2.9), (4.6, 2.3))
        if not generator_step:
            ax.text(4.5, 2.85, "detached", fontsize=FONTSIZE)
        if not generator_step:
            box(ax, (1.3, 1.0), "real x", "data", width=1.6)
            arrow(ax, (2.1, 1.0), (4.4, 1.8))
            loss = box(ax, (5.6, 0.5), "-log s(D(x))\n-log(1 - s(D(G(z))))", "loss", width=3.4, height=0.8)
            arrow(ax, (5.6, 1.7), (5.6, 0.9))
            arrow(ax, (7.3, 0.8), (6.9, 1.8), gradient=True, bend=0.5)
            ax.text(6.9, 2.5, "update D", fontsize=FONTSIZE, color=COLOURS["grad"])
        else:
            loss = box(ax, (5.6, 0.5), "-log s(D(G(z)))\n(non-saturating)", "loss", width=3.2, height=0.8)
            arrow(ax, (5.6, 1.7), (5.6, 0.9))
            arrow(ax, (4.0, 0.4), (2.3, 4.3), gradient=True, bend=-0.35)
            ax.text(0.2, 2.2, "update G\nthrough D", fontsize=FONTSIZE, color=COLOURS["grad"])
            ax.text(5.6, 2.5, "(D held fixed)", ha="center", va="bottom", fontsize=FONTSIZE)
        del z, g, fake, d, loss
    fig.tight_layout()
    return fig


def diffusion_chain_diagram() -> Figure:
    """The diffusion chain: the fixed forward process adds noise step by step (top), the learned reverse
    process removes it (bottom), and the forward process also jumps from x_0 to any x_t in one step."""
    fig, (ax,) = _canvas(8, 3.6, (0, 16), (0, 7.2))
    states = [(1.2, "x_0\ndata"), (4.0, "x_1"), (6.4, "..."), (8.8, "x_t-1"), (11.4, "x_t"), (14.4, "x_T\nnoise")]
    for x, text in states:
        if text == "...":
            ax.text(x, 3.6, text, ha="center", va="center", fontsize=FONTSIZE + 4)
        else:
            box(ax, (x, 3.6), text, "data", width=1.9, height=1.1)
    ax.text(8.0, 6.9, "forward q: fixed, adds a little Gaussian noise at every step", ha="center",
            fontsize=FONTSIZE)
    ax.text(8.0, 0.2, "reverse: a network predicts the noise in x_t, and one step removes some of it",
            ha="center", fontsize=FONTSIZE)
    for (x0, a), (x1, b) in zip(states, states[1:]):
        left, right = x0 + (0.4 if a == "..." else 0.95), x1 - (0.4 if b == "..." else 0.95)
        arrow(ax, (left, 4.0), (right, 4.0), bend=-0.35)  # forward, above the boxes
        arrow(ax, (right, 3.2), (left, 3.2), bend=-0.35)  # reverse, below them
    arrow(ax, (1.2, 4.15), (11.4, 4.15), bend=-0.45)
    ax.text(6.3, 5.5, "q(x_t | x_0): any step in one jump", ha="center", fontsize=FONTSIZE)
    arrow(ax, (11.4, 3.05), (8.8, 3.05), bend=-0.5)
    ax.text(10.1, 1.5, "p(x_t-1 | x_t): learned", ha="center", fontsize=FONTSIZE)
    fig.tight_layout()
    return fig


def lora_diagram() -> Figure:
    """LoRA: a frozen linear layer W with a trained low-rank side path B A, scaled by alpha / r, added to its output."""
    fig, (ax,) = _canvas(8, 4, (0, 12), (0, 7))
    x = box(ax, (6.0, 0.7), "x  (d_in)", "data", width=2.4, height=0.8)
    w = box(ax, (3.2, 3.4), "W (d_out x d_in)\nfrozen", "op", width=3.4, height=1.4)
    a = box(ax, (8.8, 2.3), "A (r x d_in)\ntrained", "model", width=2.8, height=1.0)
    b = box(ax, (8.8, 4.5), "B (d_out x r)\ntrained, starts at 0", "model", width=3.4, height=1.0)
    plus = box(ax, (6.0, 5.6), "+", "op", width=0.8, height=0.7)
    h = box(ax, (6.0, 6.6), "h = W x + (alpha / r) B A x", "data", width=5.2, height=0.7)
    arrow(ax, (x[0] - 0.6, x[1] + 0.4), (w[0], w[1] - 0.7))
    arrow(ax, (x[0] + 0.6, x[1] + 0.4), (a[0], a[1] - 0.5))
    arrow(ax, (a[0], a[1] + 0.5), (b[0], b[1] - 0.5), "r numbers")
    arrow(ax, (w[0], w[1] + 0.7), (plus[0] - 0.4, plus[1]))
    arrow(ax, (b[0], b[1] + 0.5), (plus[0] + 0.4, plus[1]), "x alpha / r")
    arrow(ax, (plus[0], plus[1] + 0.35), (h[0], h[1] - 0.35))
    ax.text(3.2, 1.8, "the pretrained weights:\nno gradient, no optimizer state", ha="center", fontsize=FONTSIZE)
    ax.text(11.9, 1.0, "side path: r (d_in + d_out)\nweights instead of d_in d_out", ha="right", va="center",
            fontsize=FONTSIZE)
    fig.tight_layout()
    return fig
