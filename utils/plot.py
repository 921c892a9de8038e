"""The book's figures: image grids, loss curves, 2-D scatter and density contours.

Each function draws on a Matplotlib axis (a new one unless ``ax`` is given) and
returns it, so a chapter can combine them into one figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .validate import check_callable, check_int, check_number, describe, pixel_range


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
    ax = _axis(ax, figsize=(nrow * 0.6, rows * 0.6))
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
