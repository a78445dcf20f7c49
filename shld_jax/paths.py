"""Where outputs go: the repository's ``figures/`` unless ``SHLD_FIG_DIR`` says otherwise.

Notebooks never use relative paths: papermill (``--cwd notebooks``) and nbval
(the notebook's own folder, or a build copy) run kernels in different folders.
``make test`` points ``SHLD_FIG_DIR`` at a scratch folder so quick runs never
overwrite the committed figures or ledger.
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The checkout holding this package (found by its ``pyproject.toml``)."""
    here = Path(__file__).resolve().parent
    for p in (here, *here.parents):
        if (p / "pyproject.toml").exists():
            return p
    return Path.cwd()


def figure_dir() -> Path:
    d = os.environ.get("SHLD_FIG_DIR")
    p = Path(d) if d else repo_root() / "figures"
    p.mkdir(parents=True, exist_ok=True)
    return p
