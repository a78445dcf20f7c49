"""The public API: one import path per name, metadata version, no import-time side effects,
the host-device helper and the settings object."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import shld_jax as sj


def _run(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**base, "JAX_PLATFORMS": "cpu", **(env or {})}, timeout=300)


def test_all_is_the_public_namespace():
    public = {n for n, v in vars(sj).items() if not n.startswith("_") and not inspect.ismodule(v)}
    assert set(sj.__all__) == public
    assert len(sj.__all__) == len(set(sj.__all__))
    assert callable(sj.ars) and not inspect.ismodule(sj.ars)
    for name in sj.__all__:  # re-exported from a private module, or defined there
        obj = getattr(sj, name)
        mod = getattr(obj, "__module__", None)
        assert mod is None or mod == "builtins" or mod.startswith("shld_jax._"), (name, mod)


def test_version_comes_from_the_package_metadata():
    assert sj.__version__ == version("shld-jax")


def test_import_leaves_os_environ_untouched():
    # jax itself sets a few variables when imported; shld_jax must add nothing to that
    res = _run("import os, jax; before = dict(os.environ)\n"
               "import shld_jax\n"
               "after = dict(os.environ)\n"
               "print(sorted(set(before.items()) ^ set(after.items())))")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
    res = _run("import os; before = dict(os.environ)\nimport shld_jax\n"
               "print('XLA_FLAGS' in os.environ)")
    assert res.stdout.strip() == "False", res.stderr


def test_import_does_not_start_jax_backends():
    """Else the host-device count could no longer be set after `import shld_jax`."""
    res = _run("import shld_jax\nfrom jax._src import xla_bridge\n"
               "print(xla_bridge.backends_are_initialized())")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_set_host_device_count_before_and_after_backend_start():
    res = _run("import shld_jax as sj, jax, os\n"
               "sj.set_host_device_count(3)\n"
               "print(jax.local_device_count('cpu'), os.environ['XLA_FLAGS'])\n"
               "sj.set_host_device_count(3)\n"  # same count: a no-op
               "try:\n    sj.set_host_device_count(2)\n"
               "except RuntimeError as e:\n    print('refused:', e)\n",
               env={"XLA_FLAGS": "--xla_cpu_enable_fast_math=false "
                                 "--xla_force_host_platform_device_count=5"})
    assert res.returncode == 0, res.stderr
    first, refused = res.stdout.strip().splitlines()
    assert first == "3 --xla_cpu_enable_fast_math=false --xla_force_host_platform_device_count=3"
    assert refused.startswith("refused:") and "before the first JAX computation" in refused
    for bad in (0, -1, 2.0, True, "4"):
        with pytest.raises(ValueError, match="`set_host_device_count`: n"):
            sj.set_host_device_count(bad)


def test_settings_read_the_environment_and_code_overrides(monkeypatch, tmp_path):
    for var in ("SHLD_QUICK", "SHLD_FIG_DIR", "SHLD_CACHE", "SHLD_FRESH", "SHLD_CACHE_DIR"):
        monkeypatch.delenv(var, raising=False)
    s = sj.settings
    s.reset()
    assert (s.quick, s.fig_dir, s.cache, s.fresh, s.cache_dir) == (False, None, True, False, None)
    assert s.cache_mode == "on"
    monkeypatch.setenv("SHLD_FRESH", "yes")
    monkeypatch.setenv("SHLD_FIG_DIR", str(tmp_path / "env"))
    assert s.cache_mode == "fresh" and s.fig_dir == tmp_path / "env"
    from shld_jax import cache, paths

    assert paths.figure_dir() == tmp_path / "env" and cache.mode() == "fresh"
    try:
        s.fig_dir = tmp_path / "code"                    # code wins over the environment
        assert paths.figure_dir() == tmp_path / "code"
        with s.override(quick=True, cache_dir=str(tmp_path / "c")):
            assert s.cache_mode == "off" and cache.mode() == "off"
            assert cache.cache_root() == tmp_path / "c"
            assert s.snapshot() == sj.Settings(quick=True, fig_dir=tmp_path / "code", cache=True,
                                               fresh=True, cache_dir=tmp_path / "c")
        assert s.quick is False and s.fig_dir == tmp_path / "code"
        del s.fig_dir
        assert s.fig_dir == tmp_path / "env"
        monkeypatch.setenv("SHLD_CACHE", "off")
        assert s.cache is False and cache.mode() == "off"
        monkeypatch.setenv("SHLD_QUICK", "maybe")
        with pytest.raises(ValueError, match="`SHLD_QUICK`"):
            s.quick
        with pytest.raises(ValueError, match="`quick`: expected a bool"):
            s.quick = "yes"
        with pytest.raises(AttributeError, match="no setting"):
            s.colour = 1
        monkeypatch.delenv("SHLD_QUICK")
        assert "fig_dir=" in repr(s) and "cache=False" in repr(s)
    finally:
        s.reset()
    assert sj.Settings.from_env({"SHLD_CACHE_DIR": "/x", "SHLD_QUICK": "1"}) == sj.Settings(
        quick=True, cache_dir=Path("/x"))


def test_no_package_module_reads_shld_variables_itself():
    root = Path(sj.__file__).parent
    for p in root.rglob("*.py"):
        if p.name == "_settings.py":
            continue
        text = p.read_text(encoding="utf-8")
        for var in ("SHLD_QUICK", "SHLD_FIG_DIR", "SHLD_CACHE", "SHLD_FRESH"):
            assert f'environ.get("{var}' not in text and f"getenv(\"{var}" not in text, (p, var)
