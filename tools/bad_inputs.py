"""Try a list of bad inputs across the public API and count how each is answered.

    python tools/bad_inputs.py [-v] [MODULE ...]

Every case is a call that must either raise a clear error or (cases marked ``ok``) return
finite values. A case is

* **clear**: ``ValueError``/``TypeError``/``FloatingPointError`` (or a CLI exit status 2 with
  one line on stderr) whose message names the call and the parameter and prints no raw
  tracer (``JitTracer(...)``, ``Traced<...>``); for ``ok`` cases: finite values returned;
* **unclear**: any other exception, or a message missing the call or the parameter;
* **silent**: the call returned (an ``ok`` case: returned NaN/inf).

Used by ``tests/test_bad_inputs.py`` (which requires every case of the modules it covers
to be clear) and for the counts reported in issue [2.4].
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import shld_jax as sj  # noqa: E402


@dataclass
class Case:
    module: str
    call: str
    param: str
    thunk: Callable[[], Any]
    ok: bool = False  # the right answer is a finite result, not an error
    what: str = ""


CASES: list[Case] = []


def case(module, call, param, ok=False, what=""):
    def deco(fn):
        CASES.append(Case(module, call, param, fn, ok, what or fn.__name__))
        return fn
    return deco


def add(module, call, param, thunk, ok=False, what=""):
    CASES.append(Case(module, call, param, thunk, ok, what))


def _finite(out) -> bool:
    leaves = jax.tree_util.tree_leaves(out)
    try:
        return all(bool(np.all(np.isfinite(np.asarray(l, dtype=float)))) for l in leaves
                   if not (isinstance(l, jax.Array) and jax.dtypes.issubdtype(l.dtype, jax.dtypes.prng_key)))
    except (TypeError, ValueError):
        return True


def classify(c: Case) -> tuple[str, str]:
    try:
        out = c.thunk()
    except (ValueError, TypeError, FloatingPointError) as e:
        msg = str(e)
        if "JitTracer" in msg or "Traced<" in msg:
            return "unclear", f"{type(e).__name__}: raw tracer in message: {msg[:160]}"
        if c.ok:
            return "unclear", f"{type(e).__name__} for a valid call: {msg[:160]}"
        if c.call in msg and c.param in msg:
            return "clear", msg[:160]
        return "unclear", f"{type(e).__name__} without call/param named: {msg[:160]}"
    except SystemExit as e:  # CLI cases return the captured stderr through _cli
        return ("clear", str(e)) if e.code == 2 else ("unclear", f"exit {e.code}")
    except Exception as e:  # noqa: BLE001
        return "unclear", f"{type(e).__name__}: {str(e)[:160]}"
    if c.ok:
        return ("clear", "finite") if _finite(out) else ("silent", f"non-finite result {out!r:.120}")
    return "silent", f"returned {out!r:.120}"


# ----------------------------------------------------------------------------- potentials

DW = sj.double_well()
nan, inf = float("nan"), float("inf")
for bad in (0.0, -1.0, nan, inf, "x"):
    add("potentials", "double_well", "a", lambda b=bad: sj.double_well(a=b))
    add("potentials", "double_well", "barrier", lambda b=bad: sj.double_well(barrier=b))
for bad in (nan, inf, 5.0, "x"):
    add("potentials", "tilted_double_well", "tilt", lambda b=bad: sj.tilted_double_well(tilt=b))
for bad in ([], [1.0, -1.0], [[1.0, nan]], "abc", 1.0, [0.0]):
    add("potentials", "quadratic", "eigenvalues", lambda b=bad: sj.quadratic(b))
for fn in (sj.kramers_rate, sj.kramers_rate_seed):
    name = fn.__name__
    for bad in (0.0, -1.0, nan, inf, "x", None):
        add("potentials", name, "D", lambda f=fn, b=bad: f(DW, b))
    for bad in (0.0, 0.5, -0.3, nan, 3.0, "x"):
        add("potentials", name, "x_min", lambda f=fn, b=bad: f(DW, 0.2, x_min=b), what=f"x_min={bad!r}")
    add("potentials", name, "potential", lambda f=fn: f(sj.quadratic([1.0]), 0.2))
    add("potentials", name, "potential", lambda f=fn: f("well", 0.2))
for kw in ({"n_grid": 1}, {"n_grid": 2}, {"n_grid": 0}, {"n_grid": 2.5}, {"pad": -1.0}, {"pad": nan},
           {"pad": 0.0}):
    p = next(iter(kw))
    add("potentials", "exact_mfpt", p, lambda k=kw: sj.exact_mfpt(DW, -1.0, 0.0, 0.5, **k), what=str(kw))
for xs, xe in ((0.0, 0.0), (nan, 0.0), ("a", 0.0), (-1.0, inf)):
    add("potentials", "exact_mfpt", "x_start" if xe != inf else "x_end",
        lambda a=xs, b=xe: sj.exact_mfpt(DW, a, b, 0.5), what=f"{xs!r}->{xe!r}")
add("potentials", "exact_mfpt", "D", lambda: sj.exact_mfpt(DW, -1.0, 0.0, 0.0))
add("potentials", "exact_mfpt", "D", lambda: sj.exact_mfpt(DW, -1.0, 0.0, 1e-4), what="D tiny: overflow")
add("potentials", "exact_mfpt", "potential", lambda: sj.exact_mfpt(None, -1.0, 0.0, 0.5))
for grid, what in (([0.0], "1 point"), ([1.0, 0.0, -1.0], "descending"), ([0.0, nan, 1.0], "nan"),
                   (np.zeros((3, 3)), "2-D"), ([], "empty"), ([0.0, 0.0, 1.0], "repeated")):
    add("potentials", "gibbs_density", "x", lambda g=grid: sj.gibbs_density(DW, g, 0.5), what=what)
add("potentials", "gibbs_density", "D", lambda: sj.gibbs_density(DW, np.linspace(-2, 2, 5), 0.0))
add("potentials", "gibbs_density", "D", lambda: sj.gibbs_density(DW, np.linspace(-2, 2, 5), 1e-5), ok=True,
    what="D tiny: finite and normalised on the grid given")

# ----------------------------------------------------------------------------- diagnostics

G = {"w": jnp.ones((3,))}
for bad in (0.0, -1.0, nan, jnp.zeros(3), -jnp.ones(()), jnp.array([1.0, -1.0, 2.0]), "x"):
    add("diagnostics", "consolidation_ratio", "D", lambda b=bad: sj.consolidation_ratio(G, b),
        what=f"D={bad!r}")
add("diagnostics", "consolidation_ratio", "grad", lambda: sj.consolidation_ratio({}, 1.0))
add("diagnostics", "consolidation_ratio", "D",
    lambda: jax.jit(sj.consolidation_ratio)(G, 1.0), ok=True, what="under jit")
for fn in (sj.gradient_variance, sj.seed_diffusion_from_gradients):
    add("diagnostics", fn.__name__, "samples" if fn is sj.gradient_variance else "minibatch_grads",
        lambda f=fn: f(jnp.ones((1, 3))), what="one sample")
    add("diagnostics", fn.__name__, "samples" if fn is sj.gradient_variance else "minibatch_grads",
        lambda f=fn: f({}), what="empty")
for fn in (sj.seed_effective_diffusion, sj.sgd_diffusion):
    n = fn.__name__
    for args, p in (((0.0, 1.0, 4), "lr"), ((nan, 1.0, 4), "lr"), ((0.1, -1.0, 4), "grad_variance"),
                    ((0.1, 1.0, 0), "batch_size"), ((0.1, 1.0, 1.5), "batch_size"),
                    ((0.1, inf, 4), "grad_variance")):
        add("diagnostics", n, p, lambda f=fn, a=args: f(*a), what=str(args))
    add("diagnostics", n, "lr", lambda f=fn: jax.jit(lambda lr: f(lr, 1.0, 4))(0.1), ok=True,
        what="traced lr under jit")
    add("diagnostics", n, "grad_variance", lambda f=fn: jax.jit(lambda s: f(0.1, s, 4))(1.0), ok=True,
        what="traced grad_variance under jit")
for bad in (0.0, -2.0, nan):
    add("diagnostics", "stability_limit_lr", "lam_max", lambda b=bad: sj.stability_limit_lr(b))
    add("diagnostics", "seed_optimal_lr", "lam_max", lambda b=bad: sj.seed_optimal_lr(0.1, b))
    add("diagnostics", "seed_optimal_lr", "D", lambda b=bad: sj.seed_optimal_lr(b, 1.0))
add("diagnostics", "stability_limit_lr", "lam_max", lambda: jax.jit(sj.stability_limit_lr)(2.0), ok=True,
    what="under jit")
add("diagnostics", "seed_optimal_lr", "D", lambda: jax.jit(sj.seed_optimal_lr)(0.1, 2.0), ok=True,
    what="under jit")
TRAJ = jnp.cumsum(jnp.ones((5, 2)), axis=0)
for fn in (sj.diffusion_from_trajectory, sj.seed_diffusion_from_trajectory):
    n = fn.__name__
    add("diagnostics", n, "dt", lambda f=fn: f(TRAJ, dt=0.0))
    add("diagnostics", n, "dt", lambda f=fn: f(TRAJ, dt=nan))
    add("diagnostics", n, "trajectory", lambda f=fn: f(jnp.ones((1, 2)), dt=0.1), what="1 frame")
    add("diagnostics", n, "trajectory", lambda f=fn: f({}, dt=0.1), what="empty")
    add("diagnostics", n, "dt", lambda f=fn: jax.jit(lambda dt: f(TRAJ, dt=dt))(0.1), ok=True,
        what="traced dt under jit")
add("diagnostics", "diffusion_from_trajectory", "drift",
    lambda: sj.diffusion_from_trajectory(TRAJ, dt=0.1, drift=jnp.ones((5, 3))))
add("diagnostics", "diffusion_virial", "grads", lambda: sj.diffusion_virial(TRAJ, jnp.ones((5, 3))))
add("diagnostics", "diffusion_virial", "samples", lambda: sj.diffusion_virial(jnp.ones((1, 2)), jnp.ones((1, 2))))
add("diagnostics", "uncertainty_relation", "samples",
    lambda: sj.uncertainty_relation(jnp.ones((1, 2)), jnp.ones((1, 2))))
add("diagnostics", "uncertainty_relation", "grads", lambda: sj.uncertainty_relation(TRAJ, jnp.ones((5, 3))))
LOSS = lambda p: jnp.sum(p["w"] ** 2)  # noqa: E731
add("diagnostics", "hessian_max_eigenvalue", "iters",
    lambda: sj.hessian_max_eigenvalue(LOSS, G, key=jax.random.key(0), iters=0))
add("diagnostics", "hessian_max_eigenvalue", "loss_fn",
    lambda: sj.hessian_max_eigenvalue(lambda p: p["w"], G, key=jax.random.key(0)))
add("diagnostics", "hessian_max_eigenvalue", "params",
    lambda: sj.hessian_max_eigenvalue(LOSS, {"w": jnp.ones(3, jnp.int32)}, key=jax.random.key(0)))
add("diagnostics", "hessian_max_eigenvalue", "key", lambda: sj.hessian_max_eigenvalue(LOSS, G, key=None))
add("diagnostics", "hessian_max_eigenvalue", "key", lambda: sj.hessian_max_eigenvalue(LOSS, G, key="k"))
add("diagnostics", "hessian_max_eigenvalue", "loss_fn", lambda: sj.hessian_max_eigenvalue(3, G, key=jax.random.key(0)))
add("diagnostics", "per_example_grads", "loss_fn", lambda: sj.per_example_grads(3, G, jnp.ones((2, 3))))
add("diagnostics", "per_example_grads", "batch", lambda: sj.per_example_grads(LOSS, G, {}))
for kw, p in (({"learning_rate": 0.0}, "learning_rate"), ({"learning_rate": 0.1, "low": 5.0, "high": 1.0}, "low"),
              ({"learning_rate": 0.1, "every": 0}, "every"), ({"learning_rate": 0.1, "max_lr": 0.01}, "max_lr"),
              ({"learning_rate": 0.1, "increase": nan}, "increase"), ({"learning_rate": 0.1, "max_lr": nan}, "max_lr")):
    add("diagnostics", "consolidation_lr_rule", p, lambda k=kw: sj.consolidation_lr_rule(**k), what=str(kw))


def _lr_rule_update(D):
    opt = sj.consolidation_lr_rule(0.1)
    return opt.update(G, opt.init(G), G, D=D)


add("diagnostics", "consolidation_lr_rule", "D", lambda: _lr_rule_update(jnp.zeros(())), what="array D=0")
add("diagnostics", "consolidation_lr_rule", "D", lambda: _lr_rule_update(-1.0), what="D=-1")

# ----------------------------------------------------------------------------- resonance

CFG = sj.StochasticResonanceConfig
for kw, p in (({"base_gain": 0.0}, "base_gain"), ({"min_gain": 0.5}, "min_gain"),
              ({"gain_growth": 1.0}, "gain_growth"), ({"gain_decay": 1.0}, "gain_decay"),
              ({"maximize": "yes"}, "maximize"), ({"max_gain": 1e39}, "max_gain"),
              ({"gain_growth": 1e39}, "gain_growth"), ({"stagnation_threshold": nan}, "stagnation_threshold"),
              ({"stagnation_threshold": 1e39}, "stagnation_threshold"),
              ({"min_gain": 1e-46, "base_gain": 1e-46}, "base_gain"), ({"relative": 1}, "relative"),
              ({"base_gain": "x"}, "base_gain")):
    add("resonance", "StochasticResonanceConfig", p, lambda k=kw: CFG(**k), what=str(kw))


def _sr_update(value=1.0, grads=None, key=None, n=2):
    opt = sj.stochastic_resonance_noise(key=jax.random.key(0) if key is None else key)
    g = {"w": jnp.ones(3)} if grads is None else grads
    s = opt.init(g)
    out = None
    for _ in range(n):
        out, s = opt.update(g, s, g, value=value)
    return out


add("resonance", "stochastic_resonance_noise", "config", lambda: sj.stochastic_resonance_noise("x", key=jax.random.key(0)))
add("resonance", "stochastic_resonance_noise", "key", lambda: sj.stochastic_resonance_noise(key=None))
add("resonance", "stochastic_resonance_noise", "key", lambda: sj.stochastic_resonance_noise(key="abc"))
add("resonance", "stochastic_resonance_noise", "scale", lambda: sj.stochastic_resonance_noise(key=0, scale="relative"))
add("resonance", "stochastic_resonance_noise", "key", lambda: sj.stochastic_resonance_noise(key=jnp.ones(3)))
add("resonance", "stochastic_resonance_noise", "value", lambda: _sr_update(value=jnp.ones(4)), what="vector value")
add("resonance", "stochastic_resonance_noise", "value", lambda: _sr_update(value=None))
add("resonance", "stochastic_resonance_noise", "value", lambda: _sr_update(value="x"))
add("resonance", "stochastic_resonance_noise", "updates",
    lambda: _sr_update(grads={"w": jnp.array([1.0, nan, 1.0])}), ok=True, what="NaN gradient skipped")
add("resonance", "stochastic_resonance_noise", "updates",
    lambda: _sr_update(grads={"w": jnp.ones(3, jnp.int32)}), what="integer updates")
add("resonance", "StochasticResonanceInjector", "config", lambda: sj.StochasticResonanceInjector(1))
add("resonance", "inject_noise", "rng", lambda: sj.StochasticResonanceInjector().inject_noise(np.zeros(3), 3))
add("resonance", "step", "metric", lambda: sj.StochasticResonanceInjector().step("abc"))
add("resonance", "step", "metric", lambda: sj.StochasticResonanceInjector().step(np.ones(3)))

# ----------------------------------------------------------------------------- cli


def _cli(*argv):
    from shld_jax import cli

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = cli.main(list(argv))
        except SystemExit as e:
            rc = e.code
    text = err.getvalue()
    if rc == 2 and len(text.strip().splitlines()) == 1 and "Traceback" not in text:
        raise ValueError(f"`shld` {text.strip()}")
    raise RuntimeError(f"exit {rc}: {text[-200:]}")


for argv, p in ((("--seed", str(2**63)), "--seed"), (("--seed", str(2**32)), "--seed"), (("--seed", "-1"), "--seed"),
                (("--dim", "1e12"), "--dim"), (("--dim", str(10**12)), "--dim"), (("--dim", "0"), "--dim"),
                (("--steps", "-5"), "--steps"), (("--surface", "saddle"), "--surface"),
                (("--repeats", "0"), "--repeats"), (("--seed", str(2**32 - 1), "--repeats", "3"), "--seed")):
    add("cli", "shld", p, lambda a=argv: _cli("sr-bench", *a), what=" ".join(argv))

# ----------------------------------------------------------------------------- engine (another helper's)

X0 = jnp.zeros((4, 1))
K = jax.random.key(0)
add("engine", "overdamped_langevin", "dt", lambda: sj.overdamped_langevin(DW.grad, dt=0.0, D=0.1))
add("engine", "overdamped_langevin", "D", lambda: sj.overdamped_langevin(DW.grad, dt=0.01, D=-1.0))
add("engine", "overdamped_langevin", "grad_fn", lambda: sj.overdamped_langevin(3, dt=0.01, D=0.1))


def _step(D=None, key=K, x0=X0):
    init, step = sj.overdamped_langevin(DW.grad, dt=0.01, D=0.1)
    s = init(key, x0)  # jax-md order (the engine's current API)
    return step(s, D=D).position


add("engine", "step_fn", "D", lambda: _step(D=-1.0))
add("engine", "step_fn", "D", lambda: _step(D=jnp.ones(3)), what="D of the wrong length")
add("engine", "init_fn", "key", lambda: _step(key=0), what="int key")
add("engine", "init_fn", "key", lambda: _step(key=None))
SIM = dict(key=K, dt=0.01, D=0.1, n_steps=10)
for kw, p in (({"dt": 0.0}, "dt"), ({"D": -1.0}, "D"), ({"D": nan}, "D"), ({"n_steps": 0}, "n_steps"),
              ({"save_every": 3}, "save_every"), ({"key": 0}, "key"), ({"key": None}, "key"),
              ({"boost": "x"}, "boost"), ({"key": "abc"}, "key")):
    add("engine", "simulate", p, lambda k=kw: sj.simulate(DW.grad, X0, **{**SIM, **k}), what=str(kw))
add("engine", "simulate", "x0", lambda: sj.simulate(DW.grad, jnp.full((4, 1), nan), **SIM))
add("engine", "simulate", "x0", lambda: sj.simulate(DW.grad, jnp.zeros(()), **SIM), what="0-d x0")
add("engine", "simulate", "grad_fn", lambda: sj.simulate(DW.energy, X0, **SIM), what="U instead of grad U")
add("engine", "simulate", "grad_fn", lambda: sj.simulate(lambda x: x[:1] * 0 + jnp.ones(2), jnp.zeros((4, 3)), **SIM),
    what="grad_fn output of the wrong shape")
add("engine", "simulate", "D", lambda: sj.simulate(DW.grad, X0, **{**SIM, "D": jnp.full(4, 0.1)}), ok=True,
    what="per-particle D")
add("engine", "simulate", "x0", lambda: jax.jit(lambda x: sj.simulate(DW.grad, x, **SIM).position)(X0), ok=True,
    what="traced x0 under jit")
add("engine", "first_passage_times", "target_fn", lambda: sj.first_passage_times(DW.grad, X0, None, **SIM))
add("engine", "first_passage_times", "target_fn",
    lambda: sj.first_passage_times(lambda x: jax.tree_util.tree_map(DW.grad, x), {"a": X0, "b": X0}, sj.Above(1.0),
                                   **SIM), ok=True,
    what="Above on a pytree state")
add("engine", "euler_maruyama", "D", lambda: sj.euler_maruyama(DW.grad, jnp.zeros(1), **{**SIM, "D": inf}))
add("engine", "euler_maruyama", "n_steps", lambda: sj.euler_maruyama(DW.grad, jnp.zeros(1), **{**SIM, "n_steps": 2.5}))

# ----------------------------------------------------------------------------- ARS (another helper's)

INNER = optax.inject_hyperparams(optax.adam)(learning_rate=1e-2)
for kw, p in (({"window": 2}, "window"), ({"alpha": 0.0}, "alpha"), ({"phi_min": 0.0}, "phi_min"),
              ({"eps": 1.0}, "eps"), ({"jitter_scale": 1.0}, "jitter_scale"), ({"surprise": "x"}, "surprise"),
              ({"guard": "x"}, "guard"), ({"gate_on": "x"}, "gate_on"), ({"ema_decay": 1.0}, "ema_decay"),
              ({"use_gate": 1}, "use_gate"), ({"key": None}, "key"), ({"key": "abc"}, "key"),
              ({"key": jnp.ones(2)}, "key")):
    add("ars", "ars", p, lambda k=kw: sj.ars(INNER, **{"key": K, **k}), what=str(kw))
add("ars", "ars", "inner", lambda: sj.ars("adam", key=K))


def _ars_update(inner=INNER, value=1.0, grads=None, key=K, n=4):
    opt = sj.ars(inner, key=key)
    g = {"w": jnp.ones(3)} if grads is None else grads
    s = opt.init(g)
    out = None
    for i in range(n):
        out, s = opt.update(g, s, g, value=value if value is None or isinstance(value, str) else value + 0.0 * i)
    return out


add("ars", "ars", "key", lambda: _ars_update(key=0), what="int key")
add("ars", "ars", "value", lambda: _ars_update(value=jnp.ones(4)), what="vector value")
add("ars", "ars", "value", lambda: _ars_update(value=None))
add("ars", "ars", "inner", lambda: _ars_update(inner=optax.inject_hyperparams(optax.sgd)(learning_rate=0.1, momentum=0.9)),
    what="gate with nothing to act on")
add("ars", "ars", "inner", lambda: _ars_update(inner=optax.adam(1e-2)), what="inner without inject_hyperparams")
add("ars", "ars", "updates", lambda: _ars_update(grads={"w": jnp.array([1.0, nan, 1.0])}), ok=True,
    what="NaN gradient skipped")
add("ars", "update_regulariser", "omega_scale", lambda: sj.update_regulariser(INNER, omega_scale=-1.0))

# ----------------------------------------------------------------------------- activations

add("activations", "stochastic_activation", "p", lambda: sj.stochastic_activation(jnp.ones(3), key=K, p=1.5, train=True))
add("activations", "stochastic_activation", "granularity",
    lambda: sj.stochastic_activation(jnp.ones(3), key=K, p=0.5, train=True, granularity="x"))
add("activations", "stochastic_activation", "key", lambda: sj.stochastic_activation(jnp.ones(3), key=None, p=0.5, train=True))
add("activations", "StochA", "p", lambda: sj.StochA(p=2.0))


def run(modules=None) -> tuple[Counter, list]:
    counts: Counter = Counter()
    rows = []
    for c in CASES:
        if modules and c.module not in modules:
            continue
        kind, detail = classify(c)
        counts[kind] += 1
        counts[(c.module, kind)] += 1
        rows.append((c, kind, detail))
    return counts, rows


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    mods = [a for a in argv if not a.startswith("-")]
    counts, rows = run(mods or None)
    tried = sum(counts[k] for k in ("clear", "unclear", "silent"))
    print(f"tried {tried}: clear {counts['clear']}, unclear {counts['unclear']}, silent {counts['silent']}")
    for m in sorted({c.module for c, _, _ in rows}):
        print(f"  {m:12s} " + ", ".join(f"{k} {counts[(m, k)]}" for k in ("clear", "unclear", "silent")))
    for c, kind, detail in rows:
        if kind != "clear" or verbose:
            print(f"{kind:8s} {c.module}/{c.call}({c.param}) [{c.what}]: {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

