"""Notebook pipeline behind the Makefile: execute, strip, prepare quick copies, aggregate.

    python -m shld_jax._pipeline figures [NB ...]     # full runs, in place (atomic)
    python -m shld_jax._pipeline quick OUTDIR [NB ...] # parameterised copies for nbval
    python -m shld_jax._pipeline strip NB.ipynb ...    # remove volatile metadata

``figures`` runs papermill with ``--cwd notebooks`` on a temporary output, strips
volatile metadata (timestamps, durations, progress widgets, stderr streams) and
only then replaces the committed notebook, so an interrupted run leaves it intact.
``quick`` injects the notebook's section of ``notebooks/quick.yml`` after the
``parameters`` cell (papermill's own injection) *without executing*: nbval then
runs the copy once and compares ``# NBVAL_CHECK_OUTPUT`` cells with the committed
full-run outputs.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
import yaml

from shld_jax import paths

KERNEL = "shld-jax"


def notebooks_dir() -> Path:
    return paths.repo_root() / "notebooks"


def select(names: list[str]) -> list[Path]:
    """Notebooks ``NN_*.ipynb`` matching the prefixes in ``names`` (all when empty)."""
    nbs = sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    if names:
        wanted = [n for n in " ".join(names).replace(",", " ").split() if n]
        nbs = [p for p in nbs if any(p.name.startswith(w) or p.stem == w for w in wanted)]
        if not nbs:
            raise SystemExit(f"no notebook matches NB={' '.join(names)!r} in {notebooks_dir()}")
    return nbs


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop metadata and outputs that change on every run without a code change."""
    for key in ("papermill", "widgets", "execution"):
        nb.metadata.pop(key, None)
    nb.metadata.get("language_info", {}).pop("version", None)
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("ExecuteTime", None)
        cell.pop("id", None)
        if cell.cell_type == "code":
            outs = []
            for o in cell.get("outputs", []):
                if o.get("output_type") == "stream" and o.get("name") == "stderr":
                    continue  # progress bars, XLA/JAX warnings: volatile by nature
                if "application/vnd.jupyter.widget-view+json" in o.get("data", {}):
                    continue
                if (outs and o.get("output_type") == "stream" and outs[-1].get("output_type") == "stream"
                        and outs[-1].get("name") == o.get("name")):
                    # how a stream is chunked depends on timing; merged, re-runs give no diff
                    outs[-1]["text"] = outs[-1]["text"] + o["text"]
                    continue
                outs.append(o)
            cell.outputs = outs
    nb.nbformat_minor = max(nb.get("nbformat_minor", 4), 4)
    return nb


def _write(nb, path: Path) -> None:
    nb = nbformat.v4.upgrade(nb) if nb.nbformat < 4 else nb
    # ids are optional in nbformat 4.4; leaving them out keeps diffs stable.
    nb.nbformat_minor = 4
    for c in nb.cells:
        c.pop("id", None)
    tmp = path.with_suffix(".ipynb.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        nbformat.write(nb, f, version=4)
    os.replace(tmp, path)


def run_full(nb_path: Path) -> None:
    import papermill as pm

    with tempfile.TemporaryDirectory() as td:
        out = Path(td) / nb_path.name
        pm.execute_notebook(
            str(nb_path), str(out), kernel_name=KERNEL, cwd=str(notebooks_dir()),
            progress_bar=False, log_output=False, request_save_on_cell_execute=False,
        )
        nb = strip(nbformat.read(out, as_version=4))
    _write(nb, nb_path)


def quick_params() -> dict:
    p = notebooks_dir() / "quick.yml"
    return yaml.safe_load(p.read_text()) or {}


def prepare_quick(outdir: Path, nbs: list[Path]) -> list[Path]:
    from papermill.parameterize import parameterize_notebook

    params = quick_params()
    outdir.mkdir(parents=True, exist_ok=True)
    out = []
    for p in nbs:
        nb = nbformat.read(p, as_version=4)
        if not any("parameters" in c.metadata.get("tags", []) for c in nb.cells):
            raise SystemExit(f"{p.name}: no cell tagged `parameters`")
        section = params.get(p.stem[:2], params.get(p.stem, {})) or {}
        section = {**section, "quick": True}
        nb.metadata.setdefault("papermill", {})  # parameterize_notebook writes into it
        for c in nb.cells:
            c.metadata.setdefault("tags", [])  # and expects every cell to have tags
        nb = parameterize_notebook(nb, section, report_mode=False, kernel_name=KERNEL, language="python")
        q = outdir / p.name
        _write(nb, q)
        out.append(q)
    return out


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "figures":
        for p in select(rest):
            print(f"[figures] executing {p.name}", flush=True)
            run_full(p)
        from shld_jax import claims

        print(f"[figures] ledger -> {claims.aggregate()}")
        return 0
    if cmd == "quick":
        outdir = Path(rest[0])
        for q in prepare_quick(outdir, select(rest[1:])):
            print(q)
        return 0
    if cmd == "strip":
        for f in rest:
            _write(strip(nbformat.read(f, as_version=4)), Path(f))
        return 0
    print(f"unknown command {cmd!r}\n{__doc__}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
