"""One figure style for the compendium, and a saver that writes reproducible PNG + PDF.

``use_style()`` sets a seaborn theme; ``savefig(fig, "01_escape_rate")`` writes
``figures/01_escape_rate.png`` and ``.pdf`` with fixed metadata (no creation date,
so re-running unchanged code leaves the files byte-identical) after checking that
no plotted data is NaN/inf.
"""

from __future__ import annotations

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from shld_jax import paths

_META_PNG = {"Software": "shld-jax"}
_META_PDF = {"Creator": "shld-jax", "Producer": "matplotlib", "CreationDate": None, "ModDate": None}
PALETTE = "colorblind"


def use_style(context: str = "notebook") -> None:
    """Apply the compendium's seaborn theme (white grid, colourblind palette, 110 dpi)."""
    sns.set_theme(context=context, style="whitegrid", palette=PALETTE)
    matplotlib.rcParams.update({
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "savefig.bbox": "tight",
        "axes.titlesize": "medium",
        "legend.frameon": False,
        "svg.hashsalt": "shld-jax",
    })


def check_finite_artists(fig) -> None:
    """Raise ``ValueError`` if any line or collection in ``fig`` holds NaN/inf data."""
    for ax in fig.axes:
        for ln in ax.get_lines():
            y = np.asarray(ln.get_ydata(), dtype=float)
            x = np.asarray(ln.get_xdata(), dtype=float)
            if y.size and not (np.all(np.isfinite(y)) and np.all(np.isfinite(x))):
                raise ValueError(
                    f"`savefig`: line {ln.get_label()!r} in axes {ax.get_title()!r} has NaN/inf data; "
                    "a non-finite value must not reach a figure silently (mask it explicitly)."
                )


def savefig(fig, name: str, *, check_finite: bool = True) -> list:
    """Save ``fig`` as ``<figure dir>/<name>.png`` and ``.pdf`` with fixed metadata; return the paths."""
    if check_finite:
        check_finite_artists(fig)
    d = paths.figure_dir()
    out = []
    for ext, meta in (("png", _META_PNG), ("pdf", _META_PDF)):
        p = d / f"{name}.{ext}"
        fig.savefig(p, metadata=meta)
        out.append(p)
    return out


def band(ax, x, y, *, label=None, color=None, q=(0.1, 0.9), log=False, **kw):
    """Plot the median of ``y`` ``[seeds, len(x)]`` over seeds with a quantile band."""
    y = np.asarray(y, dtype=float)
    med = np.nanmedian(y, axis=0)
    lo, hi = np.nanquantile(y, q[0], axis=0), np.nanquantile(y, q[1], axis=0)
    (ln,) = ax.plot(x, med, label=label, color=color, **kw)
    ax.fill_between(x, lo, hi, color=ln.get_color(), alpha=0.2, lw=0)
    if log:
        ax.set_yscale("log")
    return ln
