"""Where outputs go: the repository's ``figures/`` unless :data:`shld_jax.settings` says otherwise.

Notebooks never use relative paths: papermill (``--cwd notebooks``) and nbval
(the notebook's own folder, or a build copy) run kernels in different folders.
``make test`` points ``SHLD_FIG_DIR`` (``settings.fig_dir``) at a scratch folder so quick
runs never overwrite the committed figures or ledger.
"""

from __future__ import annotations

from pathlib import Path

from shld_jax._settings import settings


def repo_root() -> Path:
    """The checkout holding this package (found by its ``pyproject.toml``)."""
    here = Path(__file__).resolve().parent
    for p in (here, *here.parents):
        if (p / "pyproject.toml").exists():
            return p
    return Path.cwd()


def figure_dir() -> Path:
    """``settings.fig_dir`` (``$SHLD_FIG_DIR``) or ``<repo>/figures``; created if missing."""
    d = settings.fig_dir
    p = Path(d) if d is not None else repo_root() / "figures"
    p.mkdir(parents=True, exist_ok=True)
    return p
