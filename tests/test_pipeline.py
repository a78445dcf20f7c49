"""`make figures` cannot hang and never publishes half a run: cell timeout, staging, atomic figures."""

import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from shld_jax import paths
from tools import pipeline

ROOT = paths.repo_root()


def _notebook(path, *sources):
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    cells[0].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": pipeline.KERNEL, "display_name": "shld-jax", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def figs(tmp_path, monkeypatch):
    d = tmp_path / "figures"
    monkeypatch.setenv("SHLD_FIG_DIR", str(d))
    return d


# ----------------------------------------------------------------------------- atomic figure files

CHILD = """
import os, signal, sys
os.environ["SHLD_FIG_DIR"] = sys.argv[1]
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from shld_jax import plotting

fig, ax = plt.subplots()
ax.plot([0, 1, 2], [1, 2, 3])
plotting.savefig(fig, "demo")                      # the committed version
ax.plot([0, 1], [3, 0])                            # the new version differs
if sys.argv[2] == "mid-write":
    real = Figure.savefig
    def half(self, f, **kw):
        import io
        b = io.BytesIO()
        real(self, b, **kw)
        f.write(b.getvalue()[: len(b.getvalue()) // 2])
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    Figure.savefig = half
else:
    plotting.os.replace = lambda a, b: os.kill(os.getpid(), signal.SIGKILL)
plotting.savefig(fig, "demo")
"""


@pytest.mark.parametrize("when", ["mid-write", "before-rename"])
def test_savefig_killed_at_any_point_leaves_the_old_file_whole(figs, when):
    proc = subprocess.run([sys.executable, "-c", CHILD, str(figs), when], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr  # a real SIGKILL: no cleanup ran
    png, pdf = figs / "demo.png", figs / "demo.pdf"
    assert png.read_bytes().startswith(b"\x89PNG") and png.read_bytes().endswith(b"IEND\xaeB`\x82")
    assert pdf.read_bytes().rstrip().endswith(b"%%EOF")
    # the half-written temp file is a dot-file beside it, never the figure's own name
    assert {p.name for p in figs.iterdir() if not p.name.startswith(".")} == {"demo.png", "demo.pdf"}


def test_savefig_refuses_bad_names(figs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from shld_jax import plotting

    fig, _ = plt.subplots()
    for bad in ("", "../x", ".hidden", None):
        with pytest.raises(ValueError, match="`savefig`: name"):
            plotting.savefig(fig, bad)
    plt.close(fig)


# ----------------------------------------------------------------------------- the pipeline


def test_a_stuck_cell_times_out_with_the_notebook_and_cell_named(tmp_path, figs):
    nb = _notebook(tmp_path / "98_sleepy.ipynb", "quick = False", "import time\ntime.sleep(60)", "x = 1")
    before = nb.read_bytes()
    t0 = time.monotonic()
    with pytest.raises(pipeline.NotebookFailed) as e:
        pipeline.run_full(nb, cell_timeout=2)
    assert time.monotonic() - t0 < 45
    msg = str(e.value)
    assert "98_sleepy.ipynb" in msg and "cell 2 of 3" in msg and "time.sleep(60)" not in msg
    assert "'import time'" in msg and "timeout of 2 s" in msg
    assert nb.read_bytes() == before
    assert not list(figs.glob(".staging-*"))


KEEP = """from pathlib import Path
from shld_jax import paths
d = paths.figure_dir()
(d / "out.txt").write_text("new")
(d / "claims").mkdir(exist_ok=True)
(d / "claims" / "98.json").write_text("[]")
print(d.name.startswith(".staging-"))"""


def test_outputs_are_published_only_when_the_notebook_succeeds(tmp_path, figs):
    figs.mkdir()
    (figs / "out.txt").write_text("old")
    nb = _notebook(tmp_path / "98_demo.ipynb", "fail = True", KEEP, "if fail:\n    raise RuntimeError('boom')")
    before = nb.read_bytes()
    with pytest.raises(pipeline.NotebookFailed, match=r"98_demo.ipynb: cell 3 raised RuntimeError: boom"):
        pipeline.run_full(nb, cell_timeout=120)
    assert nb.read_bytes() == before
    assert (figs / "out.txt").read_text() == "old" and not (figs / "claims").exists()
    assert sorted(p.name for p in figs.iterdir()) == ["out.txt"]  # no staging folder left

    _notebook(nb, "fail = False", KEEP, "if fail:\n    raise RuntimeError('boom')")
    moved = pipeline.run_full(nb, cell_timeout=120)
    assert sorted(p.relative_to(figs).as_posix() for p in moved) == ["claims/98.json", "out.txt"]
    assert (figs / "out.txt").read_text() == "new" and (figs / "claims" / "98.json").exists()
    assert sorted(p.name for p in figs.iterdir()) == ["claims", "out.txt"]
    out = nbformat.read(nb, as_version=4)
    assert out.cells[1].outputs[0]["text"] == "True\n"  # the kernel wrote into the staging folder
    assert "papermill" not in out.metadata and all("papermill" not in c.metadata for c in out.cells)
    first = nb.read_bytes()
    pipeline.run_full(nb, cell_timeout=120)
    assert nb.read_bytes() == first  # re-runs give no diff


def test_staging_of_a_killed_pipeline_is_removed(figs):
    figs.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = figs / f".staging-01_x-{dead}-abc.tmp"
    live = figs / f".staging-01_x-{os.getpid()}-abc.tmp"
    stale.mkdir()
    live.mkdir()
    pipeline.clean_staging(figs)
    assert not stale.exists() and live.exists()


def test_cli_rejects_a_bad_timeout_and_an_unknown_notebook(capsys):
    with pytest.raises(SystemExit):
        pipeline.main(["figures", "--cell-timeout", "0"])
    assert "--cell-timeout: must be an integer number of seconds >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="no notebook matches"):
        pipeline.main(["figures", "42"])
    with pytest.raises(ValueError, match="cell_timeout"):
        pipeline.run_full(ROOT / "notebooks" / "x.ipynb", cell_timeout=0)


def test_stripping_the_committed_notebooks_changes_nothing():
    for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))[:2]:
        nb = nbformat.read(p, as_version=4)
        assert nbformat.writes(pipeline.strip(nb)) == nbformat.writes(nbformat.read(p, as_version=4))



SLOW_WRITER = """from shld_jax import paths
(paths.figure_dir() / "out.txt").write_text("new")
import time
print("written", flush=True)
time.sleep(60)"""


@pytest.mark.parametrize("nb", pipeline.select([]), ids=lambda p: p.stem)
def test_every_notebook_has_its_jupytext_pair_in_sync(nb):
    pair = nb.with_suffix(".py")
    assert pair.exists(), f"{pair.name} missing: run `python tools/pipeline.py pair`"
    assert pair.read_text(encoding="utf-8") == pipeline.text_pair(nbformat.read(nb, as_version=4)), (
        f"{pair.name} is out of date with {nb.name}: run `python tools/pipeline.py pair {nb.stem[:2]}`")
    import jupytext

    back = jupytext.reads(pair.read_text(encoding="utf-8"), fmt="py:percent")
    nbd = nbformat.read(nb, as_version=4)
    assert [c.source.rstrip("\n") for c in back.cells] == [c.source.rstrip("\n") for c in nbd.cells]
    assert ["parameters" in c.metadata.get("tags", []) for c in back.cells] == [
        "parameters" in c.metadata.get("tags", []) for c in nbd.cells]


def test_a_killed_pipeline_leaves_the_committed_files(tmp_path, figs):
    figs.mkdir()
    (figs / "out.txt").write_text("old")
    nb = _notebook(tmp_path / "97_killed.ipynb", "quick = False", SLOW_WRITER)
    before = nb.read_bytes()
    code = ("import sys; from pathlib import Path; from tools import pipeline; "
            f"pipeline.run_full(Path({str(nb)!r}), cell_timeout=120)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, start_new_session=True,
                            env={**os.environ, "SHLD_FIG_DIR": str(figs)})
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any((p / "out.txt").exists() for p in figs.glob(".staging-*")):
            time.sleep(0.2)
        assert any((p / "out.txt").exists() for p in figs.glob(".staging-*")), "the kernel never wrote"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the pipeline and the kernel it started
        proc.wait(timeout=30)
    assert nb.read_bytes() == before and (figs / "out.txt").read_text() == "old"
    pipeline.clean_staging(figs)
    assert sorted(p.name for p in figs.iterdir()) == ["out.txt"]


def test_savefig_allows_an_explicitly_masked_gap(figs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from shld_jax import plotting

    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], np.ma.masked_invalid([1.0, np.nan, 2.0]), label="gap")  # asked for
    assert [p.name for p in plotting.savefig(fig, "ok")] == ["ok.png", "ok.pdf"]
    ax.plot([0, 1, 2], [1.0, np.nan, 2.0], label="accident")
    with pytest.raises(ValueError, match="line 'accident'"):
        plotting.savefig(fig, "bad")
    plt.close(fig)
