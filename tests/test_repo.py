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


def _pins_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    return dict(re.findall(r'"([A-Za-z0-9_.\-]+)==([^"]+)"', text))


def test_environment_yml_pins_match_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    env_pins = dict(p.split("==") for p in pip if "==" in p)
    py = _pins_pyproject()
    py.pop("hatchling", None)
    py.pop("diffrax", None)  # benchmark-only extra
    assert env_pins == py
    assert "-e ." in pip


def test_lock_agrees_with_direct_pins():
    lock = dict(l.split("==") for l in (ROOT / "requirements.lock").read_text().split() if "==" in l)
    lower = {k.lower().replace("_", "-"): v for k, v in lock.items()}
    for name, ver in _pins_pyproject().items():
        if name == "hatchling":
            continue
        assert lower.get(name.lower()) == ver, name


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
