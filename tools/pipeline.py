"""Notebook pipeline behind the Makefile: execute, strip, prepare quick copies, aggregate.

    python tools/pipeline.py figures [--cell-timeout S] [NB ...]  # full runs, in place
    python tools/pipeline.py quick OUTDIR [NB ...]                # parameterised copies for nbval
    python tools/pipeline.py strip NB.ipynb ...                   # remove volatile metadata
    python tools/pipeline.py pair [NB ...]                        # rewrite the jupytext .py pairs

``figures`` runs each notebook with papermill (``cwd`` = ``notebooks/``) under a per-cell
execution timeout (papermill's ``execution_timeout``, i.e. nbclient's ``timeout``; default
:data:`CELL_TIMEOUT` seconds, ``--cell-timeout`` or ``$SHLD_CELL_TIMEOUT`` to change it),
so a lost kernel message or a stuck cell ends the run with a message naming the notebook
and the cell instead of hanging. The kernel writes its figures and ledger rows into a
staging folder inside the figure folder (``SHLD_FIG_DIR`` is the interface between the
pipeline and the kernels it starts); only when the notebook succeeds are the staged files
moved into place, each with ``os.replace``, and the stripped notebook replaces the committed
one (temp file + rename). A failing, timed-out or killed run leaves the committed notebook,
figures and ledger as they were.

Stripping drops what changes on every run without a code change: papermill's and the
kernel's timing metadata, cell ids, the Python patch version, stderr streams (progress bars,
XLA warnings) and widget views; consecutive stream outputs are merged with nbconvert's
``CoalesceStreamsPreprocessor``, since how a stream is chunked depends on timing.

``quick`` injects the notebook's section of ``notebooks/quick.yml`` after the
``parameters`` cell with papermill's own ``prepare_only`` run (no execution): nbval then
runs the copy once and compares ``# NBVAL_CHECK_OUTPUT`` cells with the committed
full-run outputs.

Every committed notebook has a jupytext pair ``NN_name.py`` (``py:percent``, inputs only,
cell tags kept so the ``parameters`` cell survives a round trip) for review in a diff;
``figures`` and ``strip`` rewrite it with the notebook, and ``notebooks/jupytext.toml`` makes
JupyterLab's jupytext keep the two in sync while editing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import yaml

from shld_jax import paths

KERNEL = "shld-jax"
CELL_TIMEOUT = 3600  # seconds; the slowest full-mode cell takes minutes on 2 CPU cores
_STAGING = re.compile(r"\.staging-.*-(\d+)-[^-]*\.tmp$")


class NotebookFailed(RuntimeError):
    """A notebook did not run to completion; nothing it wrote was kept."""


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


# ----------------------------------------------------------------------------- stripping


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop metadata and outputs that change on every run without a code change."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    for key in ("papermill", "widgets", "execution"):
        nb.metadata.pop(key, None)
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        for key in ("execution", "papermill", "ExecuteTime"):
            cell.metadata.pop(key, None)
        cell.pop("id", None)
        if cell.cell_type == "code":
            cell.outputs = [
                o for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                and "application/vnd.jupyter.widget-view+json" not in o.get("data", {})
            ]
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    nb.nbformat_minor = max(nb.get("nbformat_minor", 4), 4)
    return nb


def text_pair(nb: nbformat.NotebookNode) -> str:
    """The notebook's jupytext ``py:percent`` text (inputs and cell tags; no outputs or metadata)."""
    import jupytext
    from jupytext.config import JupytextConfiguration

    cfg = JupytextConfiguration(notebook_metadata_filter="-all", cell_metadata_filter="tags,-all")
    return jupytext.writes(nb, fmt="py:percent", config=cfg)


def _write_text(text: str, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write(nb, path: Path) -> None:
    nb = nbformat.v4.upgrade(nb) if nb.nbformat < 4 else nb
    # ids are optional in nbformat 4.4; leaving them out keeps diffs stable.
    nb.nbformat_minor = 4
    for c in nb.cells:
        c.pop("id", None)
    tmp = path.with_suffix(".ipynb.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        nbformat.write(nb, f, version=4)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- full runs


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clean_staging(fig_dir: Path) -> None:
    """Remove staging folders left by killed pipelines (their process is gone)."""
    for p in fig_dir.glob(".staging-*.tmp"):
        m = _STAGING.match(p.name)
        if m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    """Set environment variables for the kernels started inside the block."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _publish(staging: Path, target: Path) -> list[Path]:
    """Move every file under ``staging`` to the same place under ``target`` (``os.replace`` each)."""
    moved = []
    for src in sorted(p for p in staging.rglob("*") if p.is_file() and not p.name.endswith(".tmp")):
        dst = target / src.relative_to(staging)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        moved.append(dst)
    return moved


class _CellWatch:
    """nbclient ``timeout_func``: returns the timeout and remembers which cell is running."""

    def __init__(self, nb: nbformat.NotebookNode, seconds: int):
        self.cells, self.seconds, self.index = nb.cells, seconds, -1

    def __call__(self, cell) -> int:
        src = cell.get("source", "")
        nxt = [i for i in range(self.index + 1, len(self.cells)) if self.cells[i].get("source", "") == src]
        self.index = nxt[0] if nxt else self.index + 1
        return self.seconds

    def describe(self) -> str:
        if not 0 <= self.index < len(self.cells):
            return "an unknown cell"
        first = next((ln for ln in self.cells[self.index].source.splitlines() if ln.strip()), "")
        return f"cell {self.index + 1} of {len(self.cells)} (first line: {first[:80]!r})"


def run_full(nb_path: Path, *, cell_timeout: int = CELL_TIMEOUT) -> list[Path]:
    """Execute ``nb_path`` in full mode; on success publish its outputs and return their paths.

    Raises :class:`NotebookFailed` (naming the notebook, and the cell for a timeout) when a
    cell raises, times out or the kernel dies; the committed files are then untouched.
    """
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if not (isinstance(cell_timeout, int) and cell_timeout > 0):
        raise ValueError(f"`run_full`: cell_timeout must be an integer > 0 (seconds), got "
                         f"cell_timeout = {cell_timeout!r}.")
    target = paths.figure_dir()
    clean_staging(target)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{nb_path.stem}-{os.getpid()}-", suffix=".tmp",
                                    dir=target))
    watch = _CellWatch(nbformat.read(nb_path, as_version=4), cell_timeout)
    try:
        with tempfile.TemporaryDirectory() as td, _env(SHLD_FIG_DIR=str(staging)):
            out = Path(td) / nb_path.name
            try:
                pm.execute_notebook(
                    str(nb_path), str(out), kernel_name=KERNEL, cwd=str(nb_path.parent),
                    progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                    execution_timeout=cell_timeout, timeout_func=watch,
                )
            except CellTimeoutError as e:
                what = "no output arrived" if "IOPub" in str(e) else "it did not finish"
                raise NotebookFailed(
                    f"{nb_path.name}: {watch.describe()} exceeded the per-cell timeout of "
                    f"{cell_timeout} s ({what}); nothing of this run was kept. Raise it with "
                    "--cell-timeout / SHLD_CELL_TIMEOUT if the cell is just slow."
                ) from e
            except DeadKernelError as e:
                raise NotebookFailed(f"{nb_path.name}: the kernel died in {watch.describe()}; "
                                     "nothing of this run was kept.") from e
            except pm.PapermillExecutionError as e:
                raise NotebookFailed(
                    f"{nb_path.name}: cell {e.cell_index + 1} raised {e.ename}: {e.evalue}; "
                    "nothing of this run was kept."
                ) from e
            nb = strip(nbformat.read(out, as_version=4))
        moved = _publish(staging, target)
        _write(nb, nb_path)
        _write_text(text_pair(nb), nb_path.with_suffix(".py"))
        return moved
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ----------------------------------------------------------------------------- quick copies


def quick_params() -> dict:
    p = notebooks_dir() / "quick.yml"
    return yaml.safe_load(p.read_text()) or {}


def prepare_quick(outdir: Path, nbs: list[Path]) -> list[Path]:
    import logging

    import papermill as pm

    # papermill warns about quick.yml names it cannot see in the parameters cell (lines with
    # comments it cannot parse); the injected cell assigns them all the same.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    params = quick_params()
    outdir.mkdir(parents=True, exist_ok=True)
    out = []
    for p in nbs:
        nb = nbformat.read(p, as_version=4)
        if not any("parameters" in c.metadata.get("tags", []) for c in nb.cells):
            raise SystemExit(f"{p.name}: no cell tagged `parameters`")
        section = params.get(p.stem[:2], params.get(p.stem, {})) or {}
        section = {**section, "quick": True}
        q = outdir / p.name
        nb = pm.execute_notebook(str(p), None, parameters=section, prepare_only=True,
                                 kernel_name=KERNEL, language="python", progress_bar=False)
        _write(strip(nb), q)
        out.append(q)
    return out


# ----------------------------------------------------------------------------- command line


def _timeout_arg(s: str) -> int:
    try:
        x = int(s)
    except ValueError:
        x = 0
    if x < 1:
        raise argparse.ArgumentTypeError(f"must be an integer number of seconds >= 1, got {s!r}")
    return x


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="pipeline", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("figures", help="execute notebooks in full mode, in place")
    f.add_argument("--cell-timeout", type=_timeout_arg,
                   default=os.environ.get("SHLD_CELL_TIMEOUT") or CELL_TIMEOUT,
                   help=f"seconds one cell may run (default {CELL_TIMEOUT}, or $SHLD_CELL_TIMEOUT)")
    f.add_argument("nb", nargs="*")
    q = sub.add_parser("quick", help="parameterised quick copies for nbval")
    q.add_argument("outdir", type=Path)
    q.add_argument("nb", nargs="*")
    s = sub.add_parser("strip", help="remove volatile metadata in place")
    s.add_argument("files", nargs="+", type=Path)
    j = sub.add_parser("pair", help="rewrite the jupytext .py pairs of the committed notebooks")
    j.add_argument("nb", nargs="*")
    a = p.parse_args(argv)
    if a.cmd == "figures":
        timeout = _timeout_arg(str(a.cell_timeout))
        for nb in select(a.nb):
            print(f"[figures] executing {nb.name} (cell timeout {timeout} s)", flush=True)
            try:
                run_full(nb, cell_timeout=timeout)
            except NotebookFailed as e:
                print(f"[figures] FAILED {e}", file=sys.stderr, flush=True)
                return 1
        from shld_jax import claims

        print(f"[figures] ledger -> {claims.aggregate()}")
        return 0
    if a.cmd == "quick":
        for out in prepare_quick(a.outdir, select(a.nb)):
            print(out)
        return 0
    if a.cmd == "pair":
        for nb in select(a.nb):
            _write_text(text_pair(nbformat.read(nb, as_version=4)), nb.with_suffix(".py"))
        return 0
    for path in a.files:
        nb = strip(nbformat.read(path, as_version=4))
        _write(nb, path)
        _write_text(text_pair(nb), path.with_suffix(".py"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
