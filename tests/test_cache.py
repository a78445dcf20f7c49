"""The result cache: keys, hits, atomic writes, corruption recovery, bypasses, eviction of stale entries."""

import importlib
import json
import os
import subprocess
import sys
import textwrap
import uuid
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shld_jax
from shld_jax import cache
from shld_jax import _potentials as P

CALLS: list = []


class Pair(NamedTuple):
    """A module-level NamedTuple result."""

    mean: np.ndarray
    label: str


def runner(*, n, scale=1.0, key=None):
    """A pure runner; records its calls so tests can tell hits from computations."""
    CALLS.append(n)
    x = np.arange(n, dtype=np.float32) * scale
    if key is not None:
        x = x + np.asarray(jax.random.normal(key, (n,)))
    return {"x": x, "total": float(x.sum()), "n": n, "name": "r", "jx": jnp.ones(2)}


def pair_runner(*, n):
    CALLS.append(n)
    return Pair(np.full(3, n / 7), f"n={n}"), (np.int16(n), float("nan"), None, [True, 2])


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Fresh cache dir, no bypass variables (``make test`` sets SHLD_QUICK=1), no call log."""
    monkeypatch.setenv("SHLD_CACHE_DIR", str(tmp_path / "cache"))
    for v in ("SHLD_CACHE", "SHLD_QUICK", "SHLD_FRESH"):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setattr(cache, "_FIRST_SEEN", {})
    CALLS.clear()
    return tmp_path / "cache"


def entries_on_disk(root, name):
    d = root / name
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


# ----------------------------------------------------------------------------- keys


def test_key_ignores_dict_order_and_explicit_defaults():
    k = cache._key("r", {"n": 3, "scale": 2.0}, runner)
    assert cache._key("r", {"scale": 2.0, "n": 3}, runner) == k
    assert cache._key("r", {"scale": 2.0, "n": 3, "key": None}, runner) == k  # default spelled out
    nested = {"b": {"y": [1, 2], "x": np.arange(3)}, "a": P.double_well()}
    reordered = {"a": P.double_well(), "b": {"x": np.arange(3), "y": [1, 2]}}
    assert cache.canonical(nested) == cache.canonical(reordered)


@pytest.mark.parametrize(
    "other",
    [
        {"n": 4},                                  # value
        {"n": 3, "scale": 2},                      # int vs float
        {"n": 3, "scale": 1.0000000001},           # last digits
        {"n": 3, "key": jax.random.key(0)},        # PRNG key vs none
    ],
)
def test_key_changes_with_config(other):
    assert cache._key("r", {"n": 3, "scale": 2.0}, runner) != cache._key("r", {"scale": 2.0, **other},
                                                                        runner)


def test_key_identifies_arrays_keys_and_structures_by_content():
    k = lambda v: cache._key("r", {"n": v}, runner)  # noqa: E731 - the config holds anything
    assert k(jax.random.key(0)) == k(jax.random.key(0))
    assert k(jax.random.key(0)) != k(jax.random.key(1))
    assert k(jax.random.key(0)) != k(jax.random.split(jax.random.key(0))[0])
    a = np.arange(6, dtype=np.float32)
    assert k(a) == k(a.copy()) == k(jnp.asarray(a)) == k(a.reshape(2, 3).T.T.reshape(6))
    assert k(a) != k(a.reshape(2, 3)) and k(a) != k(a.astype(np.float64))
    assert k(np.float32(1)) != k(np.ones(1, np.float32)) != k(np.ones((), np.float32)) != k(1.0)
    assert k(np.float32(1)) != k(np.float64(1)) != k(1.0)
    assert k([1, 2]) != k((1, 2))
    assert k(P.double_well()) != k(P.tilted_double_well(0.1))
    assert k(P.double_well) == k(P.double_well) and k(P.double_well) != k(P.quadratic)
    with pytest.raises(TypeError, match=r"config\['n'\]\.field"):
        cache.canonical({"n": Holder(object())})


class Holder(NamedTuple):
    field: object


def test_functions_in_the_config_are_identified_by_code_defaults_and_closure():
    def make(c):
        def f(x):
            return f(x - 1) if x > 0 else c  # recursive closure: must not recurse forever
        return f

    k = lambda v: cache._key("r", {"n": v}, runner)  # noqa: E731
    assert k(make(1)) == k(make(1)) and k(make(1)) != k(make(2))
    assert k(P.double_well().grad) != k(P.tilted_double_well(0.1).grad)  # bound to different wells


def test_key_changes_with_versions_and_backend(monkeypatch):
    k0 = cache._key("r", {"n": 3}, runner)
    saved = jax.__version__, shld_jax.__version__, jax.default_backend
    monkeypatch.setattr(jax, "__version__", "9.9.9")
    k1 = cache._key("r", {"n": 3}, runner)
    monkeypatch.setattr(shld_jax, "__version__", "9.9.9")
    k2 = cache._key("r", {"n": 3}, runner)
    monkeypatch.setattr(jax, "default_backend", lambda: "tpu")
    k3 = cache._key("r", {"n": 3}, runner)
    assert len({k0, k1, k2, k3}) == 4
    for obj, attr, value in zip((jax, shld_jax, jax), ("__version__", "__version__", "default_backend"),
                                saved, strict=True):
        monkeypatch.setattr(obj, attr, value)
    assert cache._key("r", {"n": 3}, runner) == k0


def test_key_changes_with_name_and_runner():
    k = cache._key("r", {"n": 3}, runner)
    assert cache._key("r2", {"n": 3}, runner) != k
    assert cache._key("r", {"n": 3}, pair_runner) != k  # same name, different function


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throwaway package ``pkg_<id>``: a runner in ``a``, its helper ``b``, ``c`` unused."""
    name = f"pkg_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "src" / name
    root.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "b.py").write_text("def helper(n):\n    return n + 1\n")
    (root / "c.py").write_text("UNUSED = 1\n")
    (root / "a.py").write_text(textwrap.dedent(f"""
        from {name}.b import helper
        import numpy as np

        def run(*, n):
            return {{"y": np.arange(helper(n))}}
    """))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    a = importlib.import_module(f"{name}.a")
    importlib.import_module(f"{name}.c")
    yield a, root
    for m in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[m]


def test_key_follows_dependency_sources(package):
    a, root = package
    pkg = a.__name__.split(".")[0]
    assert set(cache.dependencies(a.run)) == {f"{pkg}.a", f"{pkg}.b"}  # c is not referenced
    k0 = cache._key("run", {"n": 2}, a.run)
    (root / "c.py").write_text("UNUSED = 2\n")
    assert cache._key("run", {"n": 2}, a.run) == k0  # unrelated module
    assert cache._key("run", {"n": 2}, a.run, deps=[f"{pkg}.c"]) != k0  # unless declared
    assert cache._key("run", {"n": 2}, a.run, deps=f"{pkg}.c") == cache._key(
        "run", {"n": 2}, a.run, deps=[sys.modules[f"{pkg}.c"]])
    (root / "b.py").write_text("def helper(n):\n    return n + 2\n")
    k1 = cache._key("run", {"n": 2}, a.run)
    assert k1 != k0  # transitive dependency
    (root / "a.py").write_text((root / "a.py").read_text() + "\n# touched\n")
    assert cache._key("run", {"n": 2}, a.run) not in (k0, k1)


def test_edited_source_in_a_live_process_is_not_cached(package, isolated):
    a, root = package
    assert list(cache.cached("run", {"n": 2}, a.run)["y"]) == [0, 1, 2]
    (root / "b.py").write_text("def helper(n):\n    return n + 2\n")  # not reloaded
    with pytest.warns(cache.CacheWarning, match=r"changed on disk.*not caching"):
        out = cache.cached("run", {"n": 2}, a.run)
    assert list(out["y"]) == [0, 1, 2]  # old code ran: must not be stored under the new key
    assert len(entries_on_disk(isolated, "run")) == 1


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.text(max_size=4), st.one_of(st.integers(), st.floats(allow_nan=False),
                                                        st.text(max_size=3)), max_size=6),
       st.randoms())
def test_key_is_invariant_to_dict_order(d, rnd):
    items = list(d.items())
    rnd.shuffle(items)
    assert cache._key("r", {"n": d}, runner) == cache._key("r", {"n": dict(items)}, runner)


# ----------------------------------------------------------------------------- hits and round trips


def test_second_call_reads_the_cache_with_identical_results(isolated):
    key = jax.random.key(3)
    first = cache.cached("r", {"n": 5, "key": key}, runner)
    second = cache.cached("r", {"key": key, "n": 5}, runner)
    assert CALLS == [5]
    assert first.keys() == second.keys()
    for name in first:
        assert type(first[name]) is type(second[name])
        np.testing.assert_array_equal(first[name], second[name])
    assert type(first["jx"]) is np.ndarray and first["jx"].flags.writeable  # never a JAX array
    assert first["x"].dtype == np.float32 and first["total"] == float(first["x"].sum())
    (entry,) = (isolated / "r").iterdir()
    manifest = json.loads((entry / "manifest.json").read_text())
    assert manifest["name"] == "r" and manifest["env"]["jax"] == jax.__version__
    cache.cached("r", {"n": 6, "key": key}, runner)
    assert CALLS == [5, 6]


def test_namedtuple_tuple_and_scalar_results_round_trip():
    cold = cache.cached("p", {"n": 4}, pair_runner)
    warm = cache.cached("p", {"n": 4}, pair_runner)
    assert CALLS == [4]
    for out in (cold, warm):
        pair, (i16, nan, none, lst) = out
        assert isinstance(pair, Pair) and pair.label == "n=4"
        np.testing.assert_array_equal(pair.mean, np.full(3, 4 / 7))
        assert type(i16) is np.int16 and i16 == 4 and np.isnan(nan) and none is None
        assert lst == [True, 2] and type(lst[0]) is bool


def test_prng_key_results_round_trip():
    def keys(*, seed):
        return {"k": jax.random.split(jax.random.key(seed), 3)}

    for _ in range(2):
        out = cache.cached("keys", {"seed": 1}, keys)["k"]
        np.testing.assert_array_equal(jax.random.key_data(out),
                                      jax.random.key_data(jax.random.split(jax.random.key(1), 3)))


def test_unstorable_results_and_unhashable_configs_fail_clearly(isolated):
    with pytest.raises(TypeError, match=r"result\['s'\]"):
        cache.cached("bad", {"n": 1}, lambda *, n: {"s": {1, 2}})
    with pytest.raises(TypeError, match=r"config\['n'\]"):
        cache.cached("bad", {"n": object()}, runner)
    with pytest.raises(ValueError, match="name"):
        cache.cached("", {"n": 1}, runner)
    assert not (isolated / "bad").exists()


def test_memoize_binds_positional_and_keyword_calls_to_one_entry():
    def f(n, scale=1.0):
        CALLS.append(n)
        return {"y": np.arange(n) * scale}

    g = cache.memoize(f)
    a, b, c = g(3), g(n=3, scale=1.0), g(3, 2.0)
    np.testing.assert_array_equal(a["y"], b["y"])
    np.testing.assert_array_equal(c["y"], 2 * b["y"])
    assert CALLS == [3, 3]


def draw(*, n, key):
    CALLS.append(n)
    return {"x": np.asarray(jax.random.normal(key, (n,)))}


def test_replicate_pair_draws_stream_i_of_each_master_key_and_memoizes():
    kp, kr = jax.random.key(0), jax.random.key(1)
    a, b = cache.replicate_pair(draw, 3, keys=(kp, kr), n=4)
    for got, k in ((a, kp), (b, kr)):
        np.testing.assert_array_equal(got["x"], jax.random.normal(jax.random.fold_in(k, 3), (4,)))
    assert not np.array_equal(a["x"], b["x"])
    cache.replicate_pair(draw, 3, keys=(kp, kr), n=4)
    assert CALLS == [4, 4]  # the second call is two cache hits
    with pytest.raises(ValueError, match="replicate_pair.*keys must be"):
        cache.replicate_pair(draw, 3, keys=(kp,), n=4)


# ----------------------------------------------------------------------------- atomic writes


def test_interrupt_mid_write_leaves_no_entry(isolated, monkeypatch):
    real = cache._write_file

    def half_then_interrupt(path, data):
        real(path, data[: len(data) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(cache, "_write_file", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        cache.cached("r", {"n": 4}, runner)
    assert entries_on_disk(isolated, "r") == []  # neither an entry nor a temp dir
    monkeypatch.setattr(cache, "_write_file", real)  # not undo(): that would also undo `isolated`
    cache.cached("r", {"n": 4}, runner)
    cache.cached("r", {"n": 4}, runner)
    assert CALLS == [4, 4]


def test_failed_rename_warns_and_stores_nothing(isolated, monkeypatch):
    def refuse(src, dst):
        raise OSError("disk full")

    real = os.rename
    monkeypatch.setattr(cache.os, "rename", refuse)
    with pytest.warns(cache.CacheWarning, match="could not store"):
        out = cache.cached("r", {"n": 4}, runner)
    assert out["n"] == 4 and entries_on_disk(isolated, "r") == []
    monkeypatch.setattr(cache.os, "rename", real)
    cache.cached("r", {"n": 4}, runner)
    cache.cached("r", {"n": 4}, runner)
    assert CALLS == [4, 4]


CHILD = """
import os, signal, sys
sys.path.insert(0, sys.argv[2])
os.environ["SHLD_CACHE_DIR"] = sys.argv[1]
from shld_jax import cache
import crashmod

print(cache._key("crash", {"n": 5}, crashmod.run), flush=True)
cache._fsync_dir = lambda d: os.kill(os.getpid(), signal.SIGKILL)  # files written, not renamed
cache.cached("crash", {"n": 5}, crashmod.run)
"""


def test_killed_writer_leaves_only_an_ignored_temp_dir(isolated, tmp_path, monkeypatch):
    mod_dir = tmp_path / "mods"
    mod_dir.mkdir()
    (mod_dir / "crashmod.py").write_text(
        "import numpy as np\nCALLS = []\n\ndef run(*, n):\n    CALLS.append(n)\n"
        "    return {'y': np.arange(n)}\n")
    flags = f"--xla_force_host_platform_device_count={jax.device_count()}"
    env = {**os.environ, "XLA_FLAGS": flags}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(isolated), str(mod_dir)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr  # SIGKILL: a real crash, no cleanup ran
    leftovers = entries_on_disk(isolated, "crash")
    assert len(leftovers) == 1 and leftovers[0].startswith(".tmp-")
    assert set(os.listdir(isolated / "crash" / leftovers[0])) == {"arrays.npz", "manifest.json"}

    monkeypatch.syspath_prepend(str(mod_dir))
    crashmod = importlib.import_module("crashmod")
    try:
        k = cache._key("crash", {"n": 5}, crashmod.run)
        assert k == proc.stdout.strip()  # the child wrote the very entry we now look up
        out = cache.cached("crash", {"n": 5}, crashmod.run)
        assert crashmod.CALLS == [5] and list(out["y"]) == list(range(5))
        assert entries_on_disk(isolated, "crash") == [k]  # leftover removed, entry stored
    finally:
        del sys.modules["crashmod"]


# ----------------------------------------------------------------------------- corruption


def _flip(path):
    b = bytearray(path.read_bytes())
    i = len(b) // 2
    b[i : i + 8] = bytes(x ^ 0xFF for x in b[i : i + 8])
    path.write_bytes(bytes(b))


def _swap(path):
    other = path.parent.parent / cache._key("r", {"n": 51}, runner) / "arrays.npz"
    path.write_bytes(other.read_bytes())


@pytest.mark.parametrize("damage", [
    _flip,                                                            # bit rot in the data
    _swap,                                                            # a valid file, wrong numbers
    lambda p: p.write_bytes(p.read_bytes()[:100]),                    # truncated
    lambda p: p.unlink(),                                             # missing
    lambda p: (p.parent / "manifest.json").write_text("{not json"),   # manifest garbage
    lambda p: (p.parent / "manifest.json").write_text(json.dumps(     # wrong checksum
        {**json.loads((p.parent / "manifest.json").read_text()), "arrays_sha256": "0" * 64})),
])
def test_corrupted_entry_is_reported_once_recomputed_and_replaced(isolated, damage):
    good = cache.cached("r", {"n": 50}, runner)
    cache.cached("r", {"n": 51}, runner)
    k = cache._key("r", {"n": 50}, runner)
    damage(isolated / "r" / k / "arrays.npz")
    CALLS.clear()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = cache.cached("r", {"n": 50}, runner)
        again = cache.cached("r", {"n": 50}, runner)
    msgs = [str(x.message) for x in w if issubclass(x.category, cache.CacheWarning)]
    assert len(msgs) == 1 and k in msgs[0] and "unreadable" in msgs[0]
    assert CALLS == [50]  # recomputed once, then read from the replaced entry
    for r in (out, again):
        np.testing.assert_array_equal(r["x"], good["x"])
        assert r["total"] == good["total"]
    assert k in entries_on_disk(isolated, "r")


def test_swapped_file_would_otherwise_load_as_wrong_numbers(isolated):
    # Guards the `_swap` case above: zip's own CRC accepts the file; only the checksum in the
    # manifest tells that it belongs to another entry.
    cache.cached("r", {"n": 50}, runner)
    cache.cached("r", {"n": 51}, runner)
    path = isolated / "r" / cache._key("r", {"n": 50}, runner) / "arrays.npz"
    _swap(path)
    assert cache._unpack(path.read_bytes())["n"] == 51


# ----------------------------------------------------------------------------- bypasses


@pytest.mark.parametrize("var,value", [("SHLD_CACHE", "off"), ("SHLD_QUICK", "1")])
def test_bypass_never_reads_nor_writes(isolated, monkeypatch, var, value):
    cache.cached("r", {"n": 3}, runner)  # a valid entry exists
    monkeypatch.setenv(var, value)
    assert cache.mode() == "off"
    out = cache.cached("r", {"n": 3}, runner)
    cache.cached("r", {"n": 8}, runner)
    assert CALLS == [3, 3, 8] and type(out["jx"]) is np.ndarray  # same types as cached runs
    assert len(entries_on_disk(isolated, "r")) == 1


def test_fresh_recomputes_and_overwrites(isolated, monkeypatch):
    def counter(*, n):
        CALLS.append(n)
        return {"call": len(CALLS)}

    assert cache.cached("c", {"n": 1}, counter)["call"] == 1
    monkeypatch.setenv("SHLD_FRESH", "1")
    assert cache.cached("c", {"n": 1}, counter)["call"] == 2
    monkeypatch.delenv("SHLD_FRESH")
    assert cache.cached("c", {"n": 1}, counter)["call"] == 2  # the overwritten entry
    assert len(entries_on_disk(isolated, "c")) == 1


# ----------------------------------------------------------------------------- eviction


def test_stale_entries_are_evicted_on_the_next_store(package, isolated, monkeypatch):
    a, root = package
    cache.cached("run", {"n": 2}, a.run)
    cache.cached("run", {"n": 3}, a.run)  # another config of the same code: both kept
    assert len(entries_on_disk(isolated, "run")) == 2
    cache.cached("other", {"n": 1}, runner)
    (root / "b.py").write_text("def helper(n):\n    return n + 2\n")  # a dependency changes
    for m in [m for m in sys.modules if m.startswith(a.__name__.split(".")[0] + ".")]:
        importlib.reload(sys.modules[m])
    monkeypatch.setattr(cache, "_FIRST_SEEN", {})  # a new process, with the new code
    assert list(cache.cached("run", {"n": 2}, a.run)["y"]) == [0, 1, 2, 3]
    (left,) = entries_on_disk(isolated, "run")  # both entries of the old code are gone
    assert left == cache._key("run", {"n": 2}, a.run)
    assert len(entries_on_disk(isolated, "other")) == 1  # other runners are untouched


def test_entries_of_another_environment_are_evicted(isolated, monkeypatch):
    cache.cached("r", {"n": 1}, runner)
    env = cache.environment()
    monkeypatch.setattr(cache, "environment", lambda: {**env, "jax": "0.0.0"})
    cache.cached("r", {"n": 2}, runner)
    assert entries_on_disk(isolated, "r") == [cache._key("r", {"n": 2}, runner)]


def test_device_count_is_not_part_of_the_key():
    assert "devices" not in cache.environment()


# ----------------------------------------------------------------------------- FRESH replacement under SIGKILL

FRESH_CHILD = """
import os, signal, sys
sys.path.insert(0, sys.argv[2])
os.environ["SHLD_CACHE_DIR"] = sys.argv[1]
os.environ["SHLD_FRESH"] = "1"
os.environ["CRASH_OFFSET"] = "100"
from shld_jax import cache
import crashmod

die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
when, fallback = sys.argv[3], sys.argv[4] == "1"
if fallback:
    cache._exchange = lambda a, b: False          # the portable path: move aside, rename in, delete
if when == "written":
    cache._fsync_dir = die                        # new entry complete in its temp dir, not renamed
elif when == "between-renames":
    real = os.rename
    n = [0]
    def rename(a, b):
        n[0] += 1
        if n[0] == 2:
            die()
        real(a, b)
    cache.os.rename = rename
elif when == "deleting-old":
    cache.shutil.rmtree = die                     # new entry in place, old one not yet deleted
cache.cached("crash", {"n": 5}, crashmod.run)
"""


@pytest.mark.parametrize("when, fallback", [
    ("written", False), ("deleting-old", False),
    ("written", True), ("between-renames", True), ("deleting-old", True),
])
def test_fresh_writer_killed_at_any_point_keeps_an_entry(isolated, tmp_path, monkeypatch, when, fallback):
    mod_dir = tmp_path / "mods"
    mod_dir.mkdir()
    (mod_dir / "crashmod.py").write_text(
        "import os\nimport numpy as np\nCALLS = []\n\ndef run(*, n):\n    CALLS.append(n)\n"
        "    return {'y': np.arange(n) + int(os.environ.get('CRASH_OFFSET', '0'))}\n")
    monkeypatch.syspath_prepend(str(mod_dir))
    crashmod = importlib.import_module("crashmod")
    try:
        old = cache.cached("crash", {"n": 5}, crashmod.run)
        assert list(old["y"]) == [0, 1, 2, 3, 4] and crashmod.CALLS == [5]
        env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={jax.device_count()}"}
        proc = subprocess.run([sys.executable, "-c", FRESH_CHILD, str(isolated), str(mod_dir), when,
                               "1" if fallback else "0"], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == -9, proc.stderr  # SIGKILL at the chosen point
        out = cache.cached("crash", {"n": 5}, crashmod.run)
        assert crashmod.CALLS == [5], "an entry (old or new) must survive: nothing recomputed"
        new = when == "deleting-old"
        assert list(out["y"]) == [100 + i if new else i for i in range(5)]
        k = cache._key("crash", {"n": 5}, crashmod.run)
        cache.cached("other", {"n": 1}, crashmod.run)  # a later write elsewhere is unaffected
        monkeypatch.setenv("SHLD_FRESH", "1")
        cache.cached("crash", {"n": 5}, crashmod.run)  # a later replacement cleans the leftovers
        assert entries_on_disk(isolated, "crash") == [k]
    finally:
        del sys.modules["crashmod"]


def test_exchange_swaps_directories(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("a")
    (b / "f").write_text("b")
    if not cache._exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) unavailable here; the fallback path is tested above")
    assert (a / "f").read_text() == "b" and (b / "f").read_text() == "a"
