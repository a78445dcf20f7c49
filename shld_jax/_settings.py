"""Run-time settings of shld-jax: one object instead of scattered environment variables.

Every setting has one environment variable and one attribute of :data:`shld_jax.settings`;
a value set in code wins over the environment:

=================  ==================  ==========================================================
attribute          variable            meaning
=================  ==================  ==========================================================
``quick``          ``SHLD_QUICK``      quick mode (``make test``): the result cache is bypassed
``fig_dir``        ``SHLD_FIG_DIR``    where figures and the claims ledger are written
``cache``          ``SHLD_CACHE``      ``False`` (``off``/``0``/``false``/``no``) bypasses the cache
``fresh``          ``SHLD_FRESH``      recompute every cached experiment and overwrite its entry
``cache_dir``      ``SHLD_CACHE_DIR``  folder of the result cache
=================  ==================  ==========================================================

The variables are parsed here and nowhere else. The parsed snapshot is kept and parsed
again only when one of these variables changes (so a script that sets ``os.environ`` before
its first run, and ``pytest``'s ``monkeypatch.setenv``, are honoured). A value that cannot be
parsed raises :class:`ValueError` naming the variable, when the setting is first read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["Settings", "settings"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")

# attribute -> environment variable
ENV = {
    "quick": "SHLD_QUICK",
    "fig_dir": "SHLD_FIG_DIR",
    "cache": "SHLD_CACHE",
    "fresh": "SHLD_FRESH",
    "cache_dir": "SHLD_CACHE_DIR",
}


def _bool(var: str, raw: str | None, default: bool) -> bool:
    if raw is None:
        return default
    s = raw.strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False if s else default
    raise ValueError(f"`{var}`: expected one of 1/true/yes/on or 0/false/no/off, got {var} = {raw!r}")


def _path(raw: str | None) -> Path | None:
    return Path(raw) if raw else None


@dataclasses.dataclass(frozen=True)
class Settings:
    """One snapshot of the settings (see the module docstring for each field's variable).

    Attributes:
        quick: quick mode; the result cache neither reads nor writes.
        fig_dir: folder for figures and the ledger; ``None`` means ``<repo>/figures``.
        cache: ``False`` bypasses the result cache.
        fresh: recompute every cached experiment and overwrite its entry.
        cache_dir: folder of the result cache; ``None`` means ``<repo>/.cache``.
    """

    quick: bool = False
    fig_dir: Path | None = None
    cache: bool = True
    fresh: bool = False
    cache_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Parse the ``SHLD_*`` variables of ``environ`` (default ``os.environ``)."""
        env = os.environ if environ is None else environ
        return cls(
            quick=_bool("SHLD_QUICK", env.get("SHLD_QUICK"), False),
            fig_dir=_path(env.get("SHLD_FIG_DIR")),
            cache=_bool("SHLD_CACHE", env.get("SHLD_CACHE"), True),
            fresh=_bool("SHLD_FRESH", env.get("SHLD_FRESH"), False),
            cache_dir=_path(env.get("SHLD_CACHE_DIR")),
        )

    @property
    def cache_mode(self) -> str:
        """``"off"`` (no reads, no writes), ``"fresh"`` (write only) or ``"on"``."""
        if not self.cache or self.quick:
            return "off"
        return "fresh" if self.fresh else "on"


class _Current:
    """The live settings: code overrides on top of the environment's snapshot.

    Read an attribute (``settings.quick``), assign one to override it in code
    (``settings.fig_dir = "out/figures"``), ``del`` it to fall back to the environment,
    or override for a block with ``with settings.override(quick=True): ...``.
    """

    __slots__ = ("_overrides", "_env_key", "_env")

    def __init__(self) -> None:
        object.__setattr__(self, "_overrides", {})
        object.__setattr__(self, "_env_key", None)
        object.__setattr__(self, "_env", None)

    def _from_env(self) -> Settings:
        key = tuple(os.environ.get(v) for v in ENV.values())
        if key != self._env_key:
            object.__setattr__(self, "_env", Settings.from_env())
            object.__setattr__(self, "_env_key", key)
        return self._env

    def snapshot(self) -> Settings:
        """The settings in force now, as a frozen :class:`Settings`."""
        return dataclasses.replace(self._from_env(), **self._overrides)

    @property
    def cache_mode(self) -> str:
        """``"off"``, ``"fresh"`` or ``"on"`` (see :attr:`Settings.cache_mode`)."""
        return self.snapshot().cache_mode

    def __getattr__(self, name: str) -> Any:
        if name not in ENV:
            raise AttributeError(f"shld_jax.settings has no setting {name!r}; settings: {list(ENV)}")
        if name in self._overrides:
            return self._overrides[name]
        return getattr(self._from_env(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._overrides[name] = _check(name, value)

    def __delattr__(self, name: str) -> None:
        if name not in ENV:
            raise AttributeError(f"shld_jax.settings has no setting {name!r}; settings: {list(ENV)}")
        self._overrides.pop(name, None)

    def reset(self) -> None:
        """Drop every override made in code: the environment decides again."""
        self._overrides.clear()

    @contextlib.contextmanager
    def override(self, **values: Any) -> Iterator[_Current]:
        """Override some settings inside a ``with`` block; the previous overrides come back after."""
        checked = {k: _check(k, v) for k, v in values.items()}
        saved = dict(self._overrides)
        self._overrides.update(checked)
        try:
            yield self
        finally:
            self._overrides.clear()
            self._overrides.update(saved)

    def __repr__(self) -> str:
        s = self.snapshot()
        fields = ", ".join(f"{f.name}={getattr(s, f.name)!r}" for f in dataclasses.fields(s))
        return f"shld_jax.settings({fields})"


def _check(name: str, value: Any) -> Any:
    if name not in ENV:
        raise AttributeError(f"shld_jax.settings has no setting {name!r}; settings: {list(ENV)}")
    if name in ("fig_dir", "cache_dir"):
        if value is None:
            return None
        if not isinstance(value, (str, os.PathLike)):
            raise ValueError(f"`{name}`: expected a path or None, got {name} = {value!r}")
        return Path(value)
    if not isinstance(value, bool):
        raise ValueError(f"`{name}`: expected a bool, got {name} = {value!r}")
    return value


settings = _Current()
"""The settings in force: the ``SHLD_*`` environment variables, overridden by assignments in code.

Attributes ``quick``, ``fig_dir``, ``cache``, ``fresh``, ``cache_dir`` (see :class:`Settings`);
``cache_mode`` is ``"off"``, ``"fresh"`` or ``"on"``. Assign an attribute to override it,
``del`` it to fall back to the environment; ``override(**values)`` is a context manager,
``reset()`` drops every override and ``snapshot()`` returns a frozen :class:`Settings`.

Example::

    import shld_jax as sj

    sj.settings.fig_dir = "out/figures"
    with sj.settings.override(quick=True):
        assert sj.settings.cache_mode == "off"
"""
