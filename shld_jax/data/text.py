"""A real text corpus shipped with the package, and jit-friendly character-level batches.

Corpus: ``stdlib_docs.txt`` holds the docstrings (module, class and function) of the
pure-Python modules of the CPython 3.11 standard library, in sorted file order, as built
by :func:`build_corpus` (``python -m shld_jax.data.text`` rewrites it; no download).
The docstrings are part of CPython, © Python Software Foundation, distributed under the
PSF License Agreement (PSF-2.0); the file's header says so. Only printable ASCII and
newlines are kept, so the vocabulary has at most 96 symbols.

Batches are drawn inside ``jit``: ``get_batch(key, data, batch_size, block_size)`` returns
``x, y [B, T]`` with ``y`` shifted by one character. The data-shift provocation of seed 001
relabels the vocabulary with a fixed permutation: :func:`permute` maps token ``i`` to
``perm[i]`` (same text statistics, new symbols; a trained model is confidently wrong).
"""

from __future__ import annotations

import ast
import inspect
import sys
import sysconfig
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from shld_jax import _validate as v

CORPUS = Path(__file__).with_name("stdlib_docs.txt")
HEADER_END = "=" * 72 + "\n"
VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))   # 96 symbols: newline + printable ASCII
_SKIP_DIRS = {"test", "tests", "idlelib", "lib2to3", "tkinter", "turtledemo", "site-packages",
              "ensurepip", "pydoc_data", "distutils", "config-3.11-x86_64-linux-gnu"}


def _docstrings(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc and len(doc) >= 80:
                doc = inspect.cleandoc(doc)
                out.append("".join(c for c in doc if c in VOCAB))
    return out


def build_corpus(max_chars: int = 600_000, stdlib: str | None = None) -> str:
    """Docstrings of the standard library's public pure-Python modules, up to ``max_chars``.

    Deterministic for a given CPython version: files in sorted path order (private
    ``_*`` modules and tests skipped), ``ast.walk`` order within a file, docstrings of
    at least 80 characters, ``inspect.cleandoc``, non-ASCII characters dropped.
    """
    root = Path(stdlib or sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py")
                   if not (set(p.relative_to(root).parts[:-1]) & _SKIP_DIRS)
                   and not any(part.startswith("_") for part in p.relative_to(root).parts))
    parts, n = [], 0
    for p in files:
        for doc in _docstrings(p):
            parts.append(doc + "\n\n")
            n += len(parts[-1])
        if n >= max_chars:
            break
    body = "".join(parts)[:max_chars]
    py = ".".join(map(str, sys.version_info[:3]))
    header = (
        "Docstrings of the CPython standard library (pure-Python modules), extracted by\n"
        "shld_jax.data.text.build_corpus() from the sources of CPython " + py + ".\n"
        "Source: https://github.com/python/cpython (Lib/). Copyright (c) 2001-2023 Python\n"
        "Software Foundation; all rights reserved. Licence: PSF License Agreement (PSF-2.0),\n"
        "https://docs.python.org/3/license.html. Only printable ASCII and newlines kept.\n"
        + HEADER_END
    )
    return header + body


def load_text(path: Path | str = CORPUS) -> str:
    """The corpus body (header removed)."""
    t = Path(path).read_text(encoding="ascii")
    i = t.find(HEADER_END)
    if i < 0:
        raise ValueError(f"`load_text`: {path} lacks the source/licence header.")
    return t[i + len(HEADER_END):]


def encode(text: str) -> np.ndarray:
    """Token ids ``[N]`` (int32) in :data:`VOCAB`; unknown characters raise."""
    table = {c: i for i, c in enumerate(VOCAB)}
    try:
        return np.fromiter((table[c] for c in text), np.int32, len(text))
    except KeyError as e:
        raise ValueError(f"`encode`: character {e.args[0]!r} is not in the vocabulary.") from None


def decode(ids) -> str:
    return "".join(VOCAB[int(i)] for i in np.asarray(ids).ravel())


class Corpus(NamedTuple):
    """Train/validation token streams (``[N_train]``, ``[N_val]`` int32) and the vocabulary size."""

    train: np.ndarray
    val: np.ndarray
    vocab_size: int


def load_corpus(val_fraction: float = 0.1) -> Corpus:
    """The shipped corpus, split at ``(1 − val_fraction)·N`` (last part is validation)."""
    v.in_range("load_corpus", "val_fraction", val_fraction, 0.0, 0.5, closed="()")
    ids = encode(load_text())
    n = int(len(ids) * (1 - val_fraction))
    return Corpus(ids[:n], ids[n:], len(VOCAB))


def get_batch(key, data, batch_size: int, block_size: int):
    """Random windows of ``data [N]``: ``x, y [batch_size, block_size]`` with ``y`` = next chars."""
    i = jax.random.randint(key, (batch_size,), 0, data.shape[0] - block_size - 1)
    take = lambda s: jax.lax.dynamic_slice_in_dim(data, s, block_size + 1)
    w = jax.vmap(take)(i)
    return w[:, :-1], w[:, 1:]


def permutation(key, vocab_size: int):
    """A random permutation ``[V]`` of the vocabulary with no fixed point (every symbol moves).

    One random ``V``-cycle: with a random order ``σ``, ``σ[j] ↦ σ[(j + 1) mod V]``.
    """
    s = jax.random.permutation(key, vocab_size)
    return jnp.zeros(vocab_size, jnp.int32).at[s].set(jnp.roll(s, -1).astype(jnp.int32))


def permute(ids, perm):
    """Relabel token ids: ``i ↦ perm[i]`` (the data-shift provocation)."""
    return perm[ids]


if __name__ == "__main__":
    CORPUS.write_text(build_corpus(), encoding="ascii")
    print(f"wrote {CORPUS} ({CORPUS.stat().st_size} bytes)")
