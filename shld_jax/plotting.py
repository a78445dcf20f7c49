"""One figure style for the compendium, and a saver that writes reproducible PNG + PDF.

``use_style()`` sets a seaborn theme; ``savefig(fig, "01_escape_rate")`` writes
``figures/01_escape_rate.png`` and ``.pdf`` with fixed metadata (no creation date,
so re-running unchanged code leaves the files byte-identical) after checking that
no plotted data is NaN/inf; each file is written to a temp file and renamed into place.
"""

from __future__ import annotations

import os
from pathlib import Path

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


def _unmasked(a) -> np.ndarray:
    """The entries of ``a`` that are not masked (an explicit mask is how a gap is asked for)."""
    return np.ma.compressed(np.ma.asarray(a, dtype=float))


def check_finite_artists(fig) -> None:
    """Raise ``ValueError`` if a line in ``fig`` holds NaN/inf data (matplotlib would silently
    leave a gap); masked entries are allowed, since a mask is how a gap is asked for.

    Scatter plots and images are not checked: matplotlib masks their invalid entries on
    entry, so an intended gap cannot be told from an accident afterwards.
    """

    for ax in fig.axes:
        for ln in ax.get_lines():
            y = _unmasked(ln.get_ydata())
            x = _unmasked(ln.get_xdata())
            if y.size and not (np.all(np.isfinite(y)) and np.all(np.isfinite(x))):
                raise ValueError(
                    f"`savefig`: line {ln.get_label()!r} in axes {ax.get_title()!r} has NaN/inf data; "
                    "a non-finite value must not reach a figure silently (mask it explicitly)."
                )


def _atomic_savefig(fig, path: Path, fmt: str, meta: dict) -> None:
    """Write to a temp file in ``path``'s folder, fsync, then ``os.replace``: a reader (or a
    crash at any point) sees the old file or the new one, never a truncated one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            fig.savefig(f, format=fmt, metadata=meta)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def savefig(fig, name: str, *, check_finite: bool = True) -> list[Path]:
    """Save ``fig`` as ``<figure dir>/<name>.png`` and ``.pdf`` with fixed metadata; return the paths.

    Each file is written atomically (temp file in the same folder + ``os.replace``). The
    figure folder is :func:`shld_jax.paths.figure_dir`; ``make figures`` points it at a
    staging folder and publishes the files only when the whole notebook succeeds.
    """
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(f"`savefig`: name must be a non-empty file stem without '/' or a leading '.', "
                         f"got name = {name!r}.")
    if check_finite:
        check_finite_artists(fig)
    d = paths.figure_dir()
    out = []
    for ext, meta in (("png", _META_PNG), ("pdf", _META_PDF)):
        p = d / f"{name}.{ext}"
        _atomic_savefig(fig, p, ext, meta)
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
