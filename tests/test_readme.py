"""Every ```python block of the README runs and its asserts on the printed results hold
(the front page's snippets must not rot)."""

import re

import pytest

from shld_jax import paths

BLOCKS = re.findall(r"```python\n(.*?)```", (paths.repo_root() / "README.md").read_text(), re.S)


def test_readme_has_snippets():
    assert BLOCKS
    assert all("assert " in b for b in BLOCKS), "every README snippet checks what it prints"


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_snippet_runs(i, capsys):
    exec(compile(BLOCKS[i], f"README.md[python block {i}]", "exec"), {"__name__": "__readme__"})
