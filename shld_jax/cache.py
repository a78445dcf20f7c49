"""Content-addressed, atomic, self-checking cache for experiment runners.

A runner is a pure function ``fn(**config) -> result`` whose result is a pytree of
dicts, lists, tuples and NamedTuples with leaves that are numpy/JAX arrays, numpy
scalars, Python numbers, strings, ``None`` or JAX PRNG keys. ::

    run = cache.memoize(experiments.escape_rates)       # the notebooks' form
    res = run(potential=dw, inv_D=inv_D, dt=0.01, key=key)
    res = cache.cached("01.escape_rates", dict(potential=dw, inv_D=inv_D, dt=0.01, key=key),
                       experiments.escape_rates)        # the same, with an explicit name

**Key.** ``sha256`` of the canonical JSON of: the runner's name and identity
(module, qualname, sha256 of its source), the full configuration with the
signature's defaults applied (dict order does not matter; arrays and PRNG keys
enter by dtype, shape and the sha256 of their bytes; NamedTuples and dataclasses by
class and fields; functions by module, qualname, source, defaults and closure),
``shld_jax.__version__``, the JAX/jaxlib/numpy versions, JAX's default backend
and x64 flag (not the device count: sharded results are tested to be device-count
invariant, ``tests/test_langevin.py``), and the sha256 of the source text of every module the
runner depends on. Dependencies are found automatically: the runner's module and,
transitively, every module of the same top-level package (and of ``shld_jax``)
that it references at module level, plus the modules of classes and functions in
the config; ``deps`` adds more (module objects or dotted names).

**Storage.** ``<cache_dir>/<name>/<key>/{arrays.npz, manifest.json}`` where
``cache_dir`` is ``$SHLD_CACHE_DIR`` or ``<repo>/.cache``. ``arrays.npz`` holds the
arrays and the result's tree (JSON, including scalar leaves), so its sha256,
recorded in the manifest, covers everything a read returns. An entry is written in
a temporary sibling directory, fsynced, then renamed into place: an entry either
exists whole or not at all. Temporary directories left by a killed process are
ignored and removed by a later write. Replacing an entry (``SHLD_FRESH=1``) renames the
new one in before the old one is deleted, so a kill at any point leaves the old entry or
the new one, never neither (see :func:`_store`).

**Eviction.** After each store, the runner's other entries that can no longer be hit are
deleted: those of another environment, or recorded with a dependency whose source has
changed since (see :func:`_evict_stale`). ``make clean-cache`` deletes everything.

**Reads** verify format, key and checksum; a corrupted or unreadable entry is
reported with a :class:`CacheWarning` naming the key and the reason, recomputed and
replaced. Failing to write (disk full, read-only) warns and returns the result.

**Bypass.** ``SHLD_CACHE=off`` (or ``0``/``false``/``no``) and ``SHLD_QUICK=1`` (set by
``make test``) neither read nor write; ``SHLD_FRESH=1`` recomputes and overwrites.
In every mode the result goes through the same serialise/deserialise round trip, so
a cold run, a warm run and a bypassed run return identical types and bits (numpy
arrays, never JAX arrays; writable copies).

**Why not joblib.Memory** (decided in [2.6], measured with joblib 1.6.0): joblib keys an entry
on the decorated function's own code and its arguments only. A runner ``run`` that calls
``helper.scale()`` from another module, cached, then re-called after ``scale`` was changed from
1 to 2, returned the stale ``[0, 1, 2]`` instead of ``[0, 2, 4]``; in this package every
experiment runner reaches most of its arithmetic through other modules (models, the engine,
the stats), so joblib would serve old numbers after an edit to any of them. Wrapping it to add
the dependency hashes to the key would keep everything this module does except the storage,
which is the small part (atomic rename and checksum, about 100 lines).

Limitation: source hashes are of the files on disk. A long-lived kernel that edits
package code without reloading would compute with the old code under the new key;
the cache detects a module whose file changed since it was first hashed in this
process and then refuses to *write* (with a warning). Globals that a function
defined in a notebook reads are not part of its identity: runners belong in the
package, and data belongs in the config.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import hashlib
import importlib
import inspect
import io
import json
import logging
import os
import re
import secrets
import shutil
import sys
import time
import types
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
_ARRAYS, _MANIFEST = "arrays.npz", "manifest.json"
_TREE = "__tree__"
_TRACKED = ("shld_jax",)
log = logging.getLogger(__name__)


class CacheWarning(UserWarning):
    """A cache entry was unreadable or could not be written; the result was recomputed."""


# ----------------------------------------------------------------------------- settings


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir`` if given, else ``settings.cache_dir`` (``$SHLD_CACHE_DIR``), else
    ``<repo>/.cache`` (not created)."""
    from shld_jax._settings import settings

    d = cache_dir if cache_dir is not None else settings.cache_dir
    if d:
        return Path(d)
    from shld_jax import paths

    return paths.repo_root() / ".cache"


def mode() -> str:
    """``"off"`` (no reads, no writes), ``"fresh"`` (write only) or ``"on"``, from
    :data:`shld_jax.settings` (``SHLD_CACHE``, ``SHLD_QUICK``, ``SHLD_FRESH``)."""
    from shld_jax._settings import settings

    return settings.cache_mode


def environment() -> dict:
    """Versions and platform facts that enter every key (read at each call)."""
    import jax
    import jaxlib

    import shld_jax

    return {
        "shld_jax": shld_jax.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "backend": jax.default_backend(),
        "x64": bool(jax.config.jax_enable_x64),
    }


# ----------------------------------------------------------------------------- source hashes


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def source_hash(module: types.ModuleType) -> str:
    """sha256 of the module's source file (``"<no source>"`` for e.g. a notebook's ``__main__``)."""
    try:
        path = inspect.getsourcefile(module) or module.__file__
        return _sha(Path(path).read_bytes())
    except (TypeError, OSError):
        return "<no source>"


def _module(m: types.ModuleType | str) -> types.ModuleType:
    if isinstance(m, types.ModuleType):
        return m
    if isinstance(m, str):
        return importlib.import_module(m)
    raise TypeError(f"`deps`: expected modules or module names, got {m!r}.")


def _tracked(name: str, roots: Iterable[str]) -> bool:
    return any(name == r or name.startswith(r + ".") for r in roots)


def dependencies(fn: Callable, extra: Iterable = (), candidates: Iterable = ()) -> dict[str, str]:
    """``{module name: source sha256}`` of everything ``fn`` depends on.

    The runner's module and, transitively, every module of ``shld_jax`` or of the
    runner's own top-level package that a tracked module references at module level
    (imported modules, or the ``__module__`` of imported functions and classes);
    ``candidates`` (modules met in the config) when tracked; ``extra`` always.
    """
    if isinstance(extra, (str, types.ModuleType)):
        extra = [extra]
    mod = sys.modules.get(getattr(fn, "__module__", None) or "")
    roots = set(_TRACKED) | ({mod.__name__.split(".")[0]} if mod is not None else set())
    stack = [_module(m) for m in extra]
    stack += [m for m in candidates if _tracked(m.__name__, roots)]
    stack += [mod] if mod is not None else []
    seen: dict[str, types.ModuleType] = {}
    while stack:
        m = stack.pop()
        if m.__name__ in seen:
            continue
        seen[m.__name__] = m
        for v in list(vars(m).values()):
            if isinstance(v, types.ModuleType):
                dep = v
            else:
                try:
                    dep = sys.modules.get(getattr(v, "__module__", None) or "")
                except Exception:  # exotic objects with a failing __getattr__
                    dep = None
            if dep is not None and dep.__name__ not in seen and _tracked(dep.__name__, roots):
                stack.append(dep)
    return {n: source_hash(seen[n]) for n in sorted(seen)}


# First hash of each module's file seen by this process (see the module docstring).
_FIRST_SEEN: dict[str, str] = {}


def _stale(dep_hashes: Mapping[str, str]) -> list[str]:
    for name, h in dep_hashes.items():
        _FIRST_SEEN.setdefault(name, h)
    return [n for n, h in dep_hashes.items() if _FIRST_SEEN[n] != h]


# ----------------------------------------------------------------------------- canonical config


def _is_prng_key(x) -> bool:
    import jax

    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _array_id(a: np.ndarray) -> dict:
    if a.dtype.hasobject:
        raise TypeError("object arrays cannot be hashed")
    a = np.asarray(a, order="C")
    return {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": _sha(a.tobytes())}


def _fn_source(fn) -> str:
    try:
        return _sha(inspect.getsource(fn).encode())
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        return _sha(code.co_code + repr(code.co_consts).encode()) if code else "<no source>"


def canonical(x: Any, *, _path: str = "config", _mods: set | None = None,
              _active: frozenset = frozenset()) -> Any:
    """JSON-able, order-independent description of ``x`` that identifies its value.

    Raises ``TypeError`` naming the offending path for anything it cannot identify
    (a ``repr`` could hold a memory address, or be equal for different values).
    ``_mods`` collects the modules of classes and functions met on the way; ``_active``
    holds the functions being described, so a recursive closure refers back by name.
    """
    d = _Describer(_mods if _mods is not None else set())
    return d(x, _path, _active)


_NO = object()  # "not my kind of value": the next describer is tried


class _Describer:
    """The three families of :func:`canonical`: leaves, containers, callables."""

    def __init__(self, mods: set):
        self.mods = mods

    def __call__(self, x, path, active):
        for describe in (self.leaf, self.container, self.callable):
            out = describe(x, path, active)
            if out is not _NO:
                return out
        raise TypeError(
            f"`cache`: cannot hash {path} of type {type(x).__module__}.{type(x).__qualname__}; "
            "pass numbers, strings, arrays, PRNG keys, containers, NamedTuples, dataclasses "
            "or module-level functions."
        )

    def note(self, obj) -> str:
        m = sys.modules.get(getattr(obj, "__module__", None) or "")
        if m is not None:
            self.mods.add(m)
        return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', '?')}"

    def leaf(self, x, path, active):
        import jax

        if isinstance(x, np.generic):  # before float: np.float64 is a float subclass
            return {"__npscalar__": _array_id(np.asarray(x))}
        if x is None or isinstance(x, (bool, int, str)):
            return x
        if isinstance(x, float):
            return x if np.isfinite(x) else {"__float__": repr(x)}
        if isinstance(x, complex):
            return {"__complex__": [self(x.real, path, active), self(x.imag, path, active)]}
        if isinstance(x, enum.Enum):
            return {"__enum__": self.note(type(x)), "name": x.name}
        if isinstance(x, np.ndarray):
            try:
                return {"__ndarray__": _array_id(x)}
            except TypeError:
                raise TypeError(f"`cache`: cannot hash {path}: object-dtype array.") from None
        if isinstance(x, jax.Array):
            if _is_prng_key(x):
                return {"__prngkey__": str(jax.random.key_impl(x)),
                        **_array_id(np.asarray(jax.random.key_data(x)))}
            return {"__ndarray__": _array_id(np.asarray(x))}
        if isinstance(x, (bytes, bytearray)):
            return {"__bytes__": _sha(bytes(x))}
        if isinstance(x, os.PathLike):
            return {"__path__": os.fspath(x)}
        return _NO

    def container(self, x, path, active):
        rec = functools.partial(self, active=active)
        if isinstance(x, tuple) and hasattr(x, "_fields"):  # NamedTuple
            return {"__namedtuple__": self.note(type(x)),
                    "fields": {f: rec(getattr(x, f), f"{path}.{f}") for f in x._fields}}
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            return {"__dataclass__": self.note(type(x)),
                    "fields": {f.name: rec(getattr(x, f.name), f"{path}.{f.name}")
                               for f in dataclasses.fields(x)}}
        if isinstance(x, Mapping):
            items = [(rec(k, f"{path} key"), rec(v, f"{path}[{k!r}]")) for k, v in x.items()]
            if all(isinstance(k, str) and not k.startswith("__") for k, _ in items):
                return dict(items)
            return {"__dict__": sorted(items, key=lambda kv: json.dumps(kv[0], sort_keys=True))}
        if isinstance(x, (list, tuple, range)):
            return {f"__{type(x).__name__}__": [rec(v, f"{path}[{i}]") for i, v in enumerate(x)]}
        if isinstance(x, (set, frozenset)):
            return {"__set__": sorted((rec(v, f"{path} item") for v in x),
                                      key=lambda c: json.dumps(c, sort_keys=True))}
        return _NO

    def callable(self, x, path, active):
        if isinstance(x, functools.partial):
            return {"__partial__": self(x.func, f"{path}.func", active),
                    "args": self(x.args, f"{path}.args", active),
                    "kwargs": self(x.keywords, f"{path}.kwargs", active)}
        if isinstance(x, types.MethodType):
            return {"__method__": x.__func__.__name__,
                    "self": self(x.__self__, f"{path}.__self__", active),
                    "func": self(x.__func__, f"{path}.__func__", active)}
        if isinstance(x, types.FunctionType):
            if id(x) in active:
                return {"__recursive__": self.note(x)}
            cells = [c.cell_contents for c in (x.__closure__ or ())]
            inner = active | {id(x)}
            return {"__function__": self.note(x), "source": _fn_source(x),
                    "defaults": self(x.__defaults__, f"{path}.__defaults__", inner),
                    "kwdefaults": self(x.__kwdefaults__, f"{path}.__kwdefaults__", inner),
                    "closure": self(tuple(cells), f"{path}.__closure__", inner)}
        if isinstance(x, (type, types.BuiltinFunctionType)) or type(x).__name__ == "PjitFunction":
            # classes, builtins and jitted functions: identified by name (+ source when present)
            return {"__callable__": self.note(x), "source": _fn_source(getattr(x, "__wrapped__", x))}
        return _NO


def _bind(fn: Callable, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with the signature's defaults filled in, so passing a default explicitly
    and omitting it give the same key."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return dict(config)
    bound = sig.bind(**config)
    bound.apply_defaults()
    out = dict(bound.arguments)
    for name, p in sig.parameters.items():  # flatten **kwargs back into the config
        if p.kind is p.VAR_KEYWORD:
            out.update(out.pop(name, {}))
    return out


def _describe(name: str, config: Mapping, fn: Callable, deps: Iterable):
    mods: set = set()
    doc = {"format": FORMAT, "name": name, "fn": canonical(fn, _path="fn", _mods=mods),
           "config": canonical(dict(config), _mods=mods), "env": environment()}
    doc["deps"] = dependencies(fn, deps, mods)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return _sha(text.encode()), doc


def _key(name: str, config: Mapping[str, Any], fn: Callable, *, deps=()) -> str:
    """The cache key (64 hex digits) of running ``fn(**config)`` under ``name``."""
    return _describe(name, _bind(fn, config), fn, deps)[0]


# ----------------------------------------------------------------------------- results <-> bytes


def _encode(x: Any, arrays: dict[str, np.ndarray], path: str = "result") -> Any:
    import jax

    def arr(a: np.ndarray, tag: str, **extra):
        if a.dtype.hasobject:
            raise TypeError(f"`cache`: cannot store {path}: object-dtype array.")
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(a, order="C")
        return {"t": tag, "a": name, **extra}

    if isinstance(x, np.generic):  # before float: np.float64 is a float subclass
        return arr(np.asarray(x), "npscalar")
    if x is None or isinstance(x, (bool, int, str)):
        return {"t": "py", "v": x}
    if isinstance(x, float):
        return {"t": "float", "v": repr(x)}  # repr round-trips exactly, nan/inf included
    if isinstance(x, np.ndarray):
        return arr(x, "array")
    if isinstance(x, jax.Array):
        if _is_prng_key(x):
            return arr(np.asarray(jax.random.key_data(x)), "prngkey",
                       impl=str(jax.random.key_impl(x)))
        return arr(np.asarray(x), "array")
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        cls = type(x)
        try:
            found = _resolve(f"{cls.__module__}:{cls.__qualname__}")
        except (ImportError, AttributeError):
            found = None
        if found is not cls:
            raise TypeError(f"`cache`: cannot store {path}: NamedTuple {cls.__qualname__} must be "
                            "defined at module level so that a later run can rebuild it.")
        return {"t": "namedtuple", "cls": f"{cls.__module__}:{cls.__qualname__}",
                "v": [_encode(getattr(x, f), arrays, f"{path}.{f}") for f in x._fields]}
    if isinstance(x, (list, tuple)):
        return {"t": type(x).__name__,
                "v": [_encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(x)]}
    if isinstance(x, dict):
        if not all(isinstance(k, str) for k in x):
            raise TypeError(f"`cache`: cannot store {path}: dict keys must be strings.")
        return {"t": "dict", "k": list(x), "v": [_encode(v, arrays, f"{path}[{k!r}]")
                                                 for k, v in x.items()]}
    raise TypeError(
        f"`cache`: cannot store {path} of type {type(x).__module__}.{type(x).__qualname__}; "
        "runners must return dicts/lists/tuples/NamedTuples of arrays, numbers and strings."
    )


def _decode(t: dict, arrays: Mapping[str, np.ndarray]) -> Any:
    kind = t["t"]
    if kind == "py":
        return t["v"]
    if kind == "float":
        return float(t["v"])
    if kind == "array":
        return arrays[t["a"]]
    if kind == "npscalar":
        return arrays[t["a"]][()]
    if kind == "prngkey":
        import jax

        return jax.random.wrap_key_data(arrays[t["a"]], impl=t["impl"])
    vals = [_decode(v, arrays) for v in t.get("v", [])]
    if kind == "list":
        return vals
    if kind == "tuple":
        return tuple(vals)
    if kind == "dict":
        return dict(zip(t["k"], vals, strict=True))
    if kind == "namedtuple":
        return _resolve(t["cls"])(*vals)
    raise ValueError(f"unknown node type {kind!r}")


def _resolve(where: str):
    mod, qual = where.split(":")
    obj = sys.modules.get(mod) or importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def _pack(result: Any) -> bytes:
    """The ``.npz`` bytes holding ``result`` (tree as JSON in ``__tree__``)."""
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(result, arrays)
    arrays[_TREE] = np.frombuffer(json.dumps(tree).encode(), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _unpack(data: bytes) -> Any:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    tree = json.loads(arrays.pop(_TREE).tobytes().decode())
    return _decode(tree, arrays)


# ----------------------------------------------------------------------------- disk


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsynced
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def _clean_leftovers(d: Path, max_age_s: float = 86400.0) -> None:
    """Remove ``.tmp-*``/``.trash-*`` directories of dead processes (or older than a day).

    A ``.trash-*`` directory is always a complete, once-published entry; if a writer died
    after moving it aside and before renaming its replacement in, it is put back first.
    """
    if not d.is_dir():
        return
    for p in d.iterdir():
        m = re.match(r"\.(tmp|trash)-[0-9a-f]*-(\d+)-", p.name)
        if not m:
            continue
        with contextlib.suppress(OSError):
            old = time.time() - p.stat().st_mtime > max_age_s
            if old or not _pid_alive(int(m.group(2))):
                if m.group(1) == "trash" and _restore(p):
                    continue
                shutil.rmtree(p, ignore_errors=True)


def _restore(trash: Path) -> bool:
    """Rename an orphaned ``.trash-*`` entry back to its key when that key has no entry."""
    try:
        key = json.loads((trash / _MANIFEST).read_text()).get("key")
    except (OSError, ValueError):
        return False
    if not isinstance(key, str) or not re.fullmatch(r"[0-9a-f]{64}", key):
        return False
    target = trash.parent / key
    if target.exists():
        return False
    try:
        os.rename(trash, target)
    except OSError:
        return False
    log.info("cache: restored %s from an interrupted replacement", key[:12])
    return True


def _recover(entry: Path) -> None:
    """Before a miss on ``entry``: put back its old version if a killed writer left it aside."""
    if entry.exists() or not entry.parent.is_dir():
        return
    for p in entry.parent.glob(f".trash-{entry.name[:16]}-*"):
        m = re.match(r"\.trash-[0-9a-f]*-(\d+)-", p.name)
        if m and not _pid_alive(int(m.group(1))) and _restore(p):
            return


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the call is unavailable (other systems, old kernels or filesystems
    that refuse it); raises ``OSError`` on any other failure.
    """
    import ctypes
    import errno

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    e = ctypes.get_errno()
    if e in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(e, os.strerror(e), str(a))


def _entry_dir(root: Path, name: str, k: str) -> Path:
    return root / (re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "_") / k


def _read(entry: Path, k: str) -> Any:
    """Verified result of ``entry``; raises with a short reason on any defect."""
    manifest = json.loads((entry / _MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"format {manifest.get('format')!r} != {FORMAT}")
    if manifest.get("key") != k:
        raise ValueError("manifest key does not match the entry")
    data = (entry / _ARRAYS).read_bytes()
    if _sha(data) != manifest.get("arrays_sha256"):
        raise ValueError(f"{_ARRAYS} checksum mismatch")
    return _unpack(data)


def _store(entry: Path, data: bytes, manifest: dict, *, replace: bool) -> None:
    """Write the entry atomically: temp dir -> fsync -> rename.

    Replacing an existing entry (``SHLD_FRESH=1``, or a corrupted entry) never leaves the key
    without a complete entry, whenever the process is killed: on Linux the new directory and
    the old one are swapped in one ``renameat2(RENAME_EXCHANGE)`` and the old one (now at the
    temp name) is deleted after; elsewhere the old entry is moved to ``.trash-*``, the new one
    renamed in, and the old one deleted, and a kill between the two renames is repaired by the
    next read or write of that key (:func:`_recover` renames the trash back).
    """
    parent = entry.parent
    parent.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(parent)
    tag = f"{entry.name[:16]}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp = parent / f".tmp-{tag}"
    tmp.mkdir()
    try:
        _write_file(tmp / _ARRAYS, data)
        _write_file(tmp / _MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        _fsync_dir(tmp)
        if replace and entry.exists():
            if _exchange(tmp, entry):  # new entry in place; the old one now sits at `tmp`
                _fsync_dir(parent)
                return  # `finally` deletes the old entry
            trash = parent / f".trash-{tag}"
            os.rename(entry, trash)
            try:
                os.rename(tmp, entry)
            except OSError:
                os.rename(trash, entry)  # put the old entry back
                raise
            _fsync_dir(parent)
            shutil.rmtree(trash, ignore_errors=True)
            return
        try:
            os.rename(tmp, entry)
        except OSError:
            if not (entry / _MANIFEST).exists():
                raise
            # a concurrent process stored the same key first: its entry is as good as ours
        _fsync_dir(parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _is_stale(manifest: Mapping, doc: Mapping) -> bool:
    """An entry that today's code and environment can never hit again: another environment
    (versions, backend), or a dependency whose source differs from the file on disk now."""
    if manifest.get("env") != doc["env"]:
        return True
    for mod, h in (manifest.get("deps") or {}).items():
        now = doc["deps"].get(mod)
        if now is None:
            try:
                now = source_hash(importlib.import_module(mod))
            except Exception:  # noqa: BLE001 - a module that no longer imports: stale
                return True
        if now != h:
            return True
    return False


def _evict_stale(entry: Path, doc: Mapping) -> None:
    """Delete the runner's other entries that are stale (:func:`_is_stale`).

    Called after each store, so a runner keeps only entries that its current code can hit;
    without this every edit of a dependency left a dead copy of every result behind. An
    entry of older code comes back only by recomputing it after checking that code out.
    """
    for other in entry.parent.iterdir():
        if other == entry or other.name.startswith(".") or not other.is_dir():
            continue
        try:
            manifest = json.loads((other / _MANIFEST).read_text())
        except (OSError, ValueError):
            continue  # half-written or foreign: _clean_leftovers and reads deal with it
        if _is_stale(manifest, doc):
            shutil.rmtree(other, ignore_errors=True)
            log.info("cache evict %s/%s (stale)", entry.parent.name, other.name[:12])


# ----------------------------------------------------------------------------- public API


def cached(name: str, config: Mapping[str, Any], fn: Callable[..., Any], *, deps=(),
           cache_dir: str | os.PathLike | None = None) -> Any:
    """``fn(**config)``, read from the cache when a verified entry exists, else computed
    and stored. See the module docstring for the key, the storage and the bypasses."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"`cached`: name must be a non-empty string, got name = {name!r}.")
    if not callable(fn):
        raise ValueError(f"`cached`: fn must be callable, got fn = {fn!r}.")
    config = _bind(fn, config)
    # The key is computed even when bypassing, so that quick runs (SHLD_QUICK=1) fail on
    # a config the cache cannot identify just as full runs would.
    k, doc = _describe(name, config, fn, deps)
    stale = _stale(doc["deps"])
    m = mode()
    if m == "off":
        return _unpack(_pack(fn(**config)))
    root = cache_root(cache_dir)
    entry = _entry_dir(root, name, k)
    replace = m == "fresh"
    _recover(entry)
    if m == "on" and entry.exists():
        try:
            out = _read(entry, k)
            log.info("cache hit %s/%s", name, k[:12])
            return out
        except Exception as e:  # noqa: BLE001 - any defect means: recompute
            warnings.warn(f"shld_jax.cache: entry {name}/{k} is unreadable ({type(e).__name__}: "
                          f"{e}); recomputing and replacing it.", CacheWarning, stacklevel=2)
            replace = True

    t0 = time.perf_counter()
    result = fn(**config)
    seconds = time.perf_counter() - t0
    data = _pack(result)
    if stale:
        warnings.warn(f"shld_jax.cache: source of {', '.join(stale)} changed on disk since this "
                      f"process first hashed it; not caching {name} (restart the kernel).",
                      CacheWarning, stacklevel=2)
        return _unpack(data)
    manifest = {
        "format": FORMAT, "key": k, "name": name,
        "runner": doc["fn"].get("__function__") if isinstance(doc["fn"], dict) else None,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "compute_seconds": round(seconds, 3), "env": doc["env"], "deps": doc["deps"],
        "config": json.dumps(doc["config"], sort_keys=True)[:20000],
        "arrays_sha256": _sha(data), "arrays_bytes": len(data),
    }
    try:
        _store(entry, data, manifest, replace=replace)
        log.info("cache store %s/%s (%.2f s)", name, k[:12], seconds)
        _evict_stale(entry, doc)
    except Exception as e:  # noqa: BLE001 - a cache must never fail the run
        warnings.warn(f"shld_jax.cache: could not store {name}/{k} ({type(e).__name__}: {e}); "
                      "continuing without caching.", CacheWarning, stacklevel=2)
    return _unpack(data)


def memoize(fn: Callable | None = None, *, name: str | None = None, deps=(),
            cache_dir: str | os.PathLike | None = None):
    """Decorator form of :func:`cached`: ``memoize(runner)(*args, **kwargs)``.

    ``name`` defaults to ``module.qualname`` of the runner. Usable bare
    (``@memoize``) or with options (``@memoize(deps=(...))``).
    """
    if fn is None:
        return functools.partial(memoize, name=name, deps=deps, cache_dir=cache_dir)
    label = name or f"{fn.__module__}.{fn.__qualname__}"
    sig = inspect.signature(fn)
    bad = [p.name for p in sig.parameters.values()
           if p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL)]
    if bad:
        raise TypeError(f"`memoize`: {label} has positional-only or *args parameters {bad}; "
                        "the config is passed as keywords.")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        config = {}
        for k, v in sig.bind(*args, **kwargs).arguments.items():
            if sig.parameters[k].kind is inspect.Parameter.VAR_KEYWORD:
                config.update(v)
            else:
                config[k] = v
        return cached(label, config, fn, deps=deps, cache_dir=cache_dir)

    return wrapper


def replicate_pair(fn: Callable, i: int, *, keys, **kwargs) -> tuple:
    """``(fn(**kwargs, key=k_p), fn(**kwargs, key=k_r))``, memoized, with
    ``k_p, k_r = fold_in(keys[0], i), fold_in(keys[1], i)``.

    One measurement under the primary and the independent replicate master key (the ledger's
    protocol, issue [2.1]); ``i`` picks the stream of each key, so that the measurements of one
    notebook draw from disjoint streams.
    """
    import jax

    if len(keys) != 2:
        raise ValueError(f"`replicate_pair`: keys must be (primary, replicate), got {len(keys)} keys.")
    f = memoize(fn)
    return tuple(f(**kwargs, key=jax.random.fold_in(k, i)) for k in keys)


__all__ = ["CacheWarning", "cache_root", "cached", "canonical", "dependencies", "environment",
           "memoize", "mode", "replicate_pair", "source_hash"]
