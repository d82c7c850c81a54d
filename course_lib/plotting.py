"""One plotting style for the whole course: small figures, labelled axes, log axes where rates live.

Functions take tensors or arrays (moved to the CPU for you) and return the matplotlib axes.
"""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = ["use_course_style", "to_numpy", "plot_signals", "show_images", "plot_convergence", "draw_unrolled"]

COURSE_STYLE = {
    "figure.figsize": (6.0, 3.2),
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "image.cmap": "gray",
    "image.interpolation": "nearest",
}


def use_course_style() -> None:
    """Apply the course's matplotlib settings (called by ``setup_notebook``)."""
    mpl.rcParams.update(COURSE_STYLE)


def to_numpy(t) -> np.ndarray:
    """A tensor (any device, with or without grad) or array as a NumPy array."""
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def plot_signals(t, signals: dict, ax=None, xlabel: str = "t", ylabel: str = "value", title: str | None = None):
    """Plot 1-D signals over the grid ``t``; ``signals`` maps a legend label to a signal."""
    ax = ax or plt.subplots()[1]
    t = to_numpy(t)
    for label, s in signals.items():
        ax.plot(t, to_numpy(s), label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def show_images(images: dict, ncols: int | None = None, size: float = 2.4, vmin=0.0, vmax=1.0, cmap="gray"):
    """Show images side by side; ``images`` maps a title to a 2-D image. Returns the axes."""
    n = len(images)
    ncols = ncols or n
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3), squeeze=False)
    for ax, (title, im) in zip(axes.flat, images.items()):
        ax.imshow(to_numpy(im), vmin=vmin, vmax=vmax, cmap=cmap)
        ax.set_title(title)
    for ax in axes.flat:
        ax.set_axis_off()
    return axes


def plot_convergence(curves: dict, ax=None, ylabel: str = "objective gap", xlabel: str = "iteration k",
                     logx: bool = True, logy: bool = True, title: str | None = None):
    """Plot per-iteration curves (``curves`` maps a label to values at k = 0, 1, ...).

    With ``logx`` the curves are drawn from k = 1, where rates :math:`k^{-p}` are straight lines.
    """
    ax = ax or plt.subplots()[1]
    for label, values in curves.items():
        v = to_numpy(values)
        k = np.arange(len(v))
        if logx:
            k, v = k[1:], v[1:]
        ax.plot(k, v, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, xscale="log" if logx else "linear", yscale="log" if logy else "linear")
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def draw_unrolled(ax=None, n_iter: int = 3, cell: str = "f", state: str = "h", inputs: str = "x_{t}",
                  title: str | None = None):
    """Draw a recurrent network unrolled in time: ``n_iter`` copies of the *same* ``cell`` (tied weights), the
    state passed from each to the next, an input entering each. Labels are mathtext without dollars: ``inputs``
    may use ``{t}`` for the step (``"y"`` for an input that is the same at every step, as in ISTA). Lectures 02
    and 03 both draw their recurrences with it."""
    ax = ax or plt.subplots(figsize=(1.5 * n_iter + 1.2, 1.9))[1]
    ax.set_axis_off()
    ax.set(xlim=(-0.5, 2 * n_iter + 0.5), ylim=(-0.2, 1.45))
    box = dict(boxstyle="round,pad=0.4", fc="#eef3fb", ec="0.3")
    arrow = dict(arrowstyle="->", color="0.25", lw=1.3, shrinkA=4, shrinkB=4)
    previous = ax.text(0, 0.9, f"${state}_0$", ha="center", va="center", fontsize=12)
    for k in range(n_iter):
        box_k = ax.text(2 * k + 1, 0.9, f"${cell}$", ha="center", va="center", fontsize=11, bbox=box)
        ax.annotate("", xy=(0, 0.5), xycoords=box_k, xytext=(1, 0.5), textcoords=previous, arrowprops=arrow)
        source = ax.text(2 * k + 1, 0.05, f"${inputs.replace('{t}', str(k + 1))}$", ha="center", va="center",
                         fontsize=12)
        ax.annotate("", xy=(0.5, 0), xycoords=box_k, xytext=(0.5, 1), textcoords=source, arrowprops=arrow)
        previous = ax.text(2 * k + 2, 0.9, f"${state}_{{{k + 1}}}$", ha="center", va="center", fontsize=12)
        ax.annotate("", xy=(0, 0.5), xycoords=previous, xytext=(1, 0.5), textcoords=box_k, arrowprops=arrow)
    ax.text(n_iter, 1.4, "the same cell, the same weights, at every step", ha="center", fontsize=9, color="0.35")
    if title:
        ax.set_title(title)
    return ax
