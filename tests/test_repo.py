"""The compendium's plumbing: pins, notebook structure, pipeline, claims ledger, figures."""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from shld_jax import claims, paths, plotting  # noqa: E402
from tools import pipeline as _pipeline  # noqa: E402

ROOT = paths.repo_root()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _lock() -> dict[str, str]:
    from packaging.utils import canonicalize_name

    lines = (ROOT / "requirements.lock").read_text().split()
    return {canonicalize_name(n): v for n, v in (l.split("==") for l in lines if "==" in l)}


def _requirements() -> dict[str, list]:
    """pyproject.toml's requirements: ``"runtime"`` and one list per extra."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"runtime": project["dependencies"], **project["optional-dependencies"]}
    return {g: [Requirement(r) for r in reqs] for g, reqs in groups.items()}


def test_lock_satisfies_pyproject_ranges():
    """Runtime deps and extras are compatible ranges (no exact pins) that the lock satisfies."""
    from packaging.utils import canonicalize_name

    lock = _lock()
    groups = _requirements()
    assert {"plotting", "sklearn", "notebooks", "bench", "docs", "dev"} <= set(groups)
    runtime = {canonicalize_name(r.name) for r in groups["runtime"]}
    assert runtime == {"jax", "optax", "numpy", "scipy"}, "import shld_jax needs only these"
    for group, reqs in groups.items():
        for r in reqs:
            name = canonicalize_name(r.name)
            if name == "shld-jax":  # an extra that includes other extras
                assert r.extras <= set(groups), r
                continue
            assert not any(s.operator in ("==", "===") for s in r.specifier), (group, str(r))
            assert name in lock, f"{r} ({group}) is not in requirements.lock"
            assert r.specifier.contains(lock[name], prereleases=True), \
                f"requirements.lock has {name}=={lock[name]}, outside {r} ({group})"


def test_environment_yml_installs_the_lock():
    """The conda environment is the Makefile's install: the package and its extras, constrained
    to requirements.lock."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-c requirements.lock" in pip
    (editable,) = [p for p in pip if p.startswith("-e .")]
    extras = set(re.fullmatch(r"-e \.\[([\w,]+)\]", editable)[1].split(","))
    assert extras <= set(_requirements()), extras
    make = re.search(r"-c requirements.lock -e '\.\[([\w,]+)\]'", (ROOT / "Makefile").read_text())
    assert make is not None and set(make[1].split(",")) == extras, "same extras as `make venv`"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_structure(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged `parameters`"
    assert "quick = False" in tagged[0].source, "the parameters cell holds the full run (quick = False)"
    assert nb.metadata["kernelspec"]["name"] == "shld-jax"
    assert "papermill" not in nb.metadata, "volatile metadata must be stripped"
    for c in nb.cells:
        assert "execution" not in c.metadata and "papermill" not in c.metadata
    # committed renders are executed, with outputs
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "commit the executed render"
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)
    assert nb_path.stem[:2] in _pipeline.quick_params(), "quick values live in notebooks/quick.yml"


def test_strip_removes_volatile_metadata_and_progress_output():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    nb.metadata["papermill"] = {"duration": 1.0}
    c = nb.cells[0]
    c.metadata["execution"] = {"iopub.execute_input": "2026-01-01"}
    c.metadata["papermill"] = {"duration": 0.1}
    c.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="100%|██| 3/3 [00:01<00:00]"),
        nbformat.v4.new_output("stream", name="stdout", text="kept"),
        nbformat.v4.new_output("stream", name="stdout", text=" and merged"),
        nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}),
    ]
    s = _pipeline.strip(nb)
    assert "papermill" not in s.metadata
    assert s.cells[0].metadata == {}
    assert [o.get("text") for o in s.cells[0].outputs] == ["kept and merged"]


def test_quick_copy_injects_parameters_after_the_parameters_cell(tmp_path, monkeypatch):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    p = nbformat.v4.new_code_cell("quick = False\nn = 100")
    p.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[p, nbformat.v4.new_code_cell("print(n)")])
    nb.metadata["kernelspec"] = {"name": "shld-jax", "display_name": "x", "language": "python"}
    nbformat.write(nb, nbdir / "99_demo.ipynb")
    (nbdir / "quick.yml").write_text('"99": {n: 3}\n')
    monkeypatch.setattr(_pipeline, "notebooks_dir", lambda: nbdir)
    (q,) = _pipeline.prepare_quick(tmp_path / "out", _pipeline.select(["99"]))
    out = nbformat.read(q, as_version=4)
    assert [c.metadata.get("tags") for c in out.cells] == [["parameters"], ["injected-parameters"], []]
    assert "n = 3" in out.cells[1].source and "quick = True" in out.cells[1].source
    with pytest.raises(SystemExit):
        _pipeline.select(["42"])


def test_committed_ledger_is_the_aggregate_of_the_json_rows():
    rows = claims.read(ROOT / "figures" / "claims")
    assert rows, "figures/claims/*.json exist"
    assert (ROOT / "figures" / "CLAIMS.md").read_text() == claims.to_markdown(rows)


def test_savefig_is_reproducible_and_refuses_nan(tmp_path, monkeypatch):
    monkeypatch.setenv("SHLD_FIG_DIR", str(tmp_path))
    plotting.use_style()
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1, 2, 3])
    png, pdf = plotting.savefig(fig, "demo")
    first = (png.read_bytes(), pdf.read_bytes())
    plotting.savefig(fig, "demo")
    assert (png.read_bytes(), pdf.read_bytes()) == first
    assert b"CreationDate" not in first[1]
    ax.plot([0, 1], [np.nan, 1.0], label="bad")
    with pytest.raises(ValueError, match="bad"):
        plotting.savefig(fig, "demo2")
    plt.close(fig)
