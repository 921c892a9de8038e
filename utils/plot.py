"""The book's figures: the house style, image grids, loss curves, 2-D scatter and density contours.

Every chapter calls ``use_house_style()`` once: figures then come out sized for the book's text column,
with text that stays readable there, at twice the resolution for sharp screens. ``figure(...)`` makes a
figure of the column's width (panels in a grid when there are many), and every plotting function draws on
a Matplotlib axis (a new one unless ``ax`` is given) and returns it, so a chapter can combine them.

How the sizes fit together: a figure is shown at ``DPI`` CSS pixels per inch, shrunk to fit the column
(``COLUMN_PX`` wide in a 1280 px window) when it is wider. Text of ``s`` points then renders
``s * DPI / 72 * min(1, COLUMN_PX / width_px)`` pixels tall. The house style's smallest text is 8.5 points
(11.8 px at full size), and each figure's PNG carries its smallest text size so that a test of the built
book (``tests/browser/test_figures.py``) can check that nothing renders under ``MIN_TEXT_PX``.
"""

from __future__ import annotations

import base64
import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.text import Text

from .validate import check_callable, check_int, check_number, describe, pixel_range

COLUMN_PX = 685  # the book's text column, in CSS pixels, in a 1280 px wide window
DPI = 100  # CSS pixels per inch of a figure shown at its natural size
COLUMN_INCHES = COLUMN_PX / DPI  # 6.85: a figure this wide fills the column without shrinking
MIN_TEXT_PX = 9  # no text in a figure renders smaller than this in the book at 1280 px
SHARPNESS = 2  # PNG pixels per CSS pixel: sharp on high-DPI screens and when zoomed
FONT_KEY = "genai:smallest-text-pt"  # the PNG text chunk that carries a figure's smallest text size

HOUSE_STYLE = {
    "figure.figsize": (COLUMN_INCHES, 3.6),
    "figure.dpi": DPI,
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def smallest_text_pt(fig: Figure) -> float | None:
    """The size, in points, of the smallest visible text in ``fig`` (None when it has no text)."""
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a Matplotlib Figure, got {describe(fig)}")
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and _drawn(t)]
    return float(min(sizes)) if sizes else None


def _drawn(text: Text) -> bool:
    """Whether ``text`` is drawn: tick labels outside their axis's view are kept but not drawn."""
    if text.axes is not None and not text.axes.get_visible():
        return False
    return text.figure is not None and text.get_window_extent().overlaps(text.figure.bbox)


def figure_png(fig: Figure) -> tuple[bytes, dict]:
    """``fig`` as a PNG at ``SHARPNESS`` times ``DPI``, cropped to its content, with its smallest text size
    stored in the PNG; and the display metadata (its width and height in CSS pixels)."""
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a Matplotlib Figure, got {describe(fig)}")
    fig.canvas.draw()  # lay out ticks and text before measuring them
    smallest = smallest_text_pt(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI * SHARPNESS, bbox_inches="tight", facecolor="white",
                metadata={FONT_KEY: "none" if smallest is None else f"{smallest:.2f}"})
    png = buffer.getvalue()
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return png, {"width": width // SHARPNESS, "height": height // SHARPNESS}


def rendered_text_px(text_pt: float, width_px: float, column_px: float = COLUMN_PX) -> float:
    """How tall text of ``text_pt`` points renders in a figure ``width_px`` CSS pixels wide, shown in a
    column ``column_px`` wide (shrunk to fit when wider)."""
    text_pt = check_number(text_pt, "text_pt", 0.0, low_open=True)
    width_px = check_number(width_px, "width_px", 0.0, low_open=True)
    column_px = check_number(column_px, "column_px", 0.0, low_open=True)
    return text_pt * DPI / 72 * min(1.0, column_px / width_px)


def use_house_style() -> None:
    """Apply the book's figure style: column-wide figures, readable text, sharp PNGs that record their
    smallest text. Call it once, at the top of a chapter."""
    plt.rcParams.update(HOUSE_STYLE)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return
    shell = get_ipython()
    if shell is None:
        return
    # Matplotlib loads its backend lazily, and the inline backend registers its own PNG formatter when it
    # loads: load it now, so that ours replaces it rather than the other way round.
    if "inline" in matplotlib.get_backend():
        import matplotlib_inline.backend_inline  # noqa: F401
    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, _png_for_jupyter)


def _png_for_jupyter(fig: Figure):
    png, size = figure_png(fig)
    return base64.b64encode(png).decode("ascii"), size


def figure(panels: int = 1, columns: int | None = None, panel_height: float = 3.2, width: float = COLUMN_INCHES,
           **subplots_kwargs):
    """A figure of ``panels`` axes as wide as the book's column: ``columns`` to a row (all in one row up to
    three panels, two to a row beyond), each row ``panel_height`` inches tall. Returns ``(fig, axes)``,
    ``axes`` a single axis for one panel and a flat array otherwise (unused grid cells hidden)."""
    check_int(panels, "panels", 1)
    if columns is None:
        columns = panels if panels <= 3 else 2
    check_int(columns, "columns", 1)
    check_number(panel_height, "panel_height", 0.0, low_open=True)
    check_number(width, "width", 0.0, COLUMN_INCHES * 1.4, low_open=True)
    columns = min(columns, panels)
    rows = -(-panels // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width, panel_height * rows), squeeze=False,
                             **subplots_kwargs)
    flat = axes.ravel()
    for ax in flat[panels:]:
        ax.set_visible(False)
    return fig, (flat[0] if panels == 1 else flat[:panels])


def _axis(ax, figsize=(4, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _to_numpy(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().float().cpu().numpy()
    if x is None or isinstance(x, (str, bytes, dict)):
        raise TypeError(f"{name} must be a tensor, array or list of numbers, got {type(x).__name__}")
    try:
        x = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must hold numbers: {error}") from None
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def image_grid(images, nrow: int = 8, ax=None, title: str | None = None, vmin=0.0, vmax=1.0,
               cmap: str = "gray_r"):
    """Show images (N, C, H, W) with C of 1 or 3, values in [vmin, vmax], ``nrow`` a row."""
    x = _to_numpy(images, "images")
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, 1 or 3, H, W), got {x.shape}")
    check_int(nrow, "nrow", 1)
    vmin, vmax = check_number(vmin, "vmin"), check_number(vmax, "vmax")
    if not vmin < vmax:
        raise ValueError(f"vmin must be below vmax, got vmin={vmin:g}, vmax={vmax:g}")
    # Pictures far outside [vmin, vmax] are in another range (0..255 or [-1, 1] shown as [0, 1]): every pixel
    # would be clipped to black or white. A little overshoot, as a model's samples have, is drawn clipped.
    span, low, high = vmax - vmin, float(x.min()), float(x.max())
    if low < vmin - 0.25 * span or high > vmax + 0.25 * span:
        found = pixel_range(torch.as_tensor(x))
        raise ValueError(f"images hold values in [{low:.3g}, {high:.3g}]"
                         f"{', which looks like ' + found if found != 'other' else ''}, far outside vmin={vmin:g}, "
                         f"vmax={vmax:g}: map them into [vmin, vmax] (x / 255 for 0..255, (x + 1) / 2 for [-1, 1]) "
                         "or pass vmin and vmax")
    n, c, h, w = x.shape
    rows = -(-n // nrow)
    pad = 1
    canvas = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), np.nan)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        canvas[top:top + h, left:left + w] = x[i].transpose(1, 2, 0)
    # 0.6 in per picture, but never wider than the book's column (a wider figure is shown shrunk)
    scale = min(0.6, COLUMN_INCHES / nrow)
    ax = _axis(ax, figsize=(nrow * scale, rows * scale + (0.3 if title else 0.0)))
    if c == 1:
        cmap_obj = plt.get_cmap(cmap).with_extremes(bad="white")  # the gaps between pictures
        ax.imshow(canvas[..., 0], cmap=cmap_obj, vmin=vmin, vmax=vmax, interpolation="nearest")
    else:
        rgb = np.clip((canvas - vmin) / (vmax - vmin), 0, 1)
        ax.imshow(np.nan_to_num(rgb, nan=1.0), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def loss_curves(curves: dict, ax=None, title: str | None = None, smooth: int = 1,
                xlabel: str = "step", ylabel: str = "loss", logy: bool = False):
    """Plot named curves. Each value is a list of losses, or a pair ``(steps, values)``.

    ``smooth`` > 1 draws a running mean over that many points (raw values faint behind).
    """
    if not isinstance(curves, dict):
        raise TypeError(f"curves must be a dict of name -> losses, such as {{'train': history.loss}}, got "
                        f"{describe(curves)}")
    if not curves:
        raise ValueError("curves must name at least one curve, got an empty dict")
    check_int(smooth, "smooth", 1)
    ax = _axis(ax, figsize=(6, 3.5))
    for name, curve in curves.items():
        if isinstance(curve, tuple) and len(curve) == 2:
            x, y = _to_numpy(curve[0], f"curves[{name!r}] steps"), _to_numpy(curve[1], f"curves[{name!r}]")
        else:
            y = _to_numpy(curve, f"curves[{name!r}]")
            x = np.arange(len(y))
        if smooth > 1 and len(y) > smooth:
            line, = ax.plot(x, y, alpha=0.2)
            kernel = np.ones(smooth) / smooth
            ax.plot(x[smooth - 1:], np.convolve(y, kernel, mode="valid"), color=line.get_color(), label=name)
        else:
            ax.plot(x, y, label=name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def scatter_2d(points, ax=None, labels=None, title: str | None = None, size: float = 3,
               alpha: float = 0.5, lim: float | None = None):
    """Scatter plot of (n, 2) points, coloured by integer ``labels`` if given."""
    x = _to_numpy(points, "points")
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {x.shape}")
    ax = _axis(ax)
    colour = None if labels is None else _to_numpy(labels, "labels")
    if colour is not None and colour.shape != (len(x),):
        raise ValueError(f"labels must hold one number per point, shape ({len(x)},), got {colour.shape}")
    check_number(size, "size", 0.0, low_open=True)
    check_number(alpha, "alpha", 0.0, 1.0)
    ax.scatter(x[:, 0], x[:, 1], s=size, alpha=alpha, c=colour, cmap="tab10" if colour is not None else None)
    if lim is not None:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def density_contours(log_density, lim: float = 3.0, ax=None, resolution: int = 200,
                     title: str | None = None, filled: bool = True, levels: int = 12):
    """Contours of ``exp(log_density(xy))`` over the square [-lim, lim]^2.

    ``log_density`` maps a (n, 2) float tensor to (n,) log-densities.
    """
    check_callable(log_density, "log_density", "a function (n, 2) points -> (n,) log-densities")
    check_number(lim, "lim", 0.0, low_open=True)
    check_int(resolution, "resolution", 2)
    check_int(levels, "levels", 1)
    axis = torch.linspace(-lim, lim, resolution)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    with torch.no_grad():
        logp = log_density(torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1))
    if tuple(np.shape(logp)) != (resolution * resolution,):
        raise ValueError(f"log_density must map (n, 2) points to (n,) log-densities, got shape "
                         f"{tuple(np.shape(logp))} for n = {resolution * resolution}")
    density = _to_numpy(torch.as_tensor(logp).exp(), "density").reshape(resolution, resolution)
    ax = _axis(ax)
    draw = ax.contourf if filled else ax.contour
    draw(gx.numpy(), gy.numpy(), density, levels=levels, cmap="viridis")
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax
