"""Notebook 03's machinery: modular data, the embedding MLP, seed-vmapped training, event detection."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from shld_jax.data import modular
from shld_jax.experiments import grokking as G
from shld_jax.models import grok_mlp as M

SMALL = M.Config(p=13, d_e=8, d_h=16)


# ------------------------------------------------------------------ data

def test_labels_are_exact_for_every_pair():
    a, b, y = modular.all_pairs(113)
    a, b, y = map(np.asarray, (a, b, y))
    assert a.shape == (113 * 113,)
    A, B = np.meshgrid(np.arange(113), np.arange(113), indexing="ij")
    np.testing.assert_array_equal(a, A.ravel())
    np.testing.assert_array_equal(b, B.ravel())
    np.testing.assert_array_equal(y, (A + B).ravel() % 113)


def test_split_sizes_match_nanda_and_partition_the_pairs():
    sp = modular.split(jax.random.key(0), 113, 0.3)
    tr, te = np.asarray(sp.train), np.asarray(sp.test)
    assert (tr.size, te.size) == (3830, 8939)  # Nanda et al.'s 3,830 / 8,939
    assert np.intersect1d(tr, te).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, te])), np.arange(113 * 113))


@settings(max_examples=8, deadline=None)
@given(p=st.integers(2, 30), frac=st.floats(0.05, 0.95), seed=st.integers(0, 2**31 - 1))
def test_split_property(p, frac, seed):
    n = int(frac * p * p)
    if n < 1 or n >= p * p:
        with pytest.raises(ValueError, match="train_frac"):
            modular.split(jax.random.key(seed), p, frac)
        return
    sp = modular.split(jax.random.key(seed), p, frac)
    tr, te = np.asarray(sp.train), np.asarray(sp.test)
    assert tr.size == n and te.size == p * p - n
    assert np.unique(np.concatenate([tr, te])).size == p * p
    a, b, y = map(np.asarray, modular.pairs(tr, p))
    assert np.all((a + b) % p == y) and np.all(a * p + b == tr)


def test_split_is_seeded():
    k0, k1 = jax.random.key(0), jax.random.key(1)
    np.testing.assert_array_equal(modular.split(k0).train, modular.split(k0).train)
    assert not np.array_equal(modular.split(k0).train, modular.split(k1).train)


@pytest.mark.parametrize("frac", [0.0, 1.0, -0.1, float("nan")])
def test_bad_train_frac(frac):
    with pytest.raises(ValueError, match="train_frac"):
        modular.split(jax.random.key(0), 113, frac)


# ------------------------------------------------------------------ model

def test_model_shapes_and_grid():
    params = M.init(jax.random.key(0), M.Config())
    shapes = {k: x.shape for k, x in params.items()}
    assert shapes == {"E": (113, 128), "W1": (256, 128), "b1": (128,), "W2": (128, 113), "b2": (113,)}
    assert M.n_params(params) == 113 * 128 + 256 * 128 + 128 + 128 * 113 + 113
    a, b, _ = modular.all_pairs(113)
    grid = M.apply_grid(params)
    assert grid.shape == (113 * 113, 113)
    idx = jnp.array([0, 5, 114, 12768])
    np.testing.assert_allclose(grid[idx], M.apply(params, a[idx], b[idx]), rtol=1e-5, atol=1e-5)


def test_per_example_sq_norms_match_autodiff():
    params = M.init(jax.random.key(1), SMALL)
    params = {**params, "b1": params["b1"] + 0.1}
    norms = jax.jit(M.per_example_sq_norms)
    a = jnp.array([0, 1, 3, 3, 12, 7])  # includes a == b, where both E rows coincide
    b = jnp.array([2, 1, 3, 4, 0, 7])
    y = (a + b) % SMALL.p
    g = jax.jit(jax.vmap(lambda a_, b_, y_: jax.grad(M.loss)(params, a_[None], b_[None], y_[None])))(a, b, y)
    ref = sum(jnp.sum(x.reshape(a.size, -1) ** 2, axis=1) for x in jax.tree_util.tree_leaves(g))
    np.testing.assert_allclose(norms(params, a, b, y), ref, rtol=1e-5)


def test_measure_C_is_twice_mean_grad_sq_over_trace_of_variance():
    params = M.init(jax.random.key(2), SMALL)
    sp = modular.split(jax.random.key(3), SMALL.p, 0.5)
    m = jax.jit(G.measure, static_argnums=2)(params, sp, SMALL.p)
    a, b, y = modular.pairs(sp.train, SMALL.p)
    g = jax.jit(jax.vmap(lambda a_, b_, y_: jax.grad(M.loss)(params, a_[None], b_[None], y_[None])))(a, b, y)
    flat = np.concatenate([np.asarray(x).reshape(a.size, -1) for x in jax.tree_util.tree_leaves(g)], 1)
    gbar = flat.mean(0)
    tr = np.mean(np.sum((flat - gbar) ** 2, 1))
    np.testing.assert_allclose(m.grad_norm, np.linalg.norm(gbar), rtol=1e-4)
    np.testing.assert_allclose(m.trace_var, tr, rtol=1e-3)
    np.testing.assert_allclose(m.C, 2 * gbar @ gbar / tr, rtol=1e-3)
    d = flat.shape[1]  # the seed's form ‖ḡ‖²/(D·d) with D = σ²/2, σ² = trΣ/d
    np.testing.assert_allclose(m.C, gbar @ gbar / ((tr / d) / 2 * d), rtol=1e-3)
    hit = np.asarray(jnp.argmax(M.apply(params, *modular.pairs(sp.test, SMALL.p)[:2]), -1)
                     == modular.pairs(sp.test, SMALL.p)[2])
    np.testing.assert_allclose(m.test_acc, hit.mean(), rtol=1e-6)


# ------------------------------------------------------------------ training

TC = G.TrainConfig(log_every=10, train_frac=0.5)


@pytest.fixture(scope="module")
def pair_run():
    """Seeds 0 and 3 together, 120 steps in one segment (one compiled program for the module)."""
    return G.train([0, 3], 120, SMALL, TC)


def test_vmapped_seeds_equal_single_seed_runs(pair_run):
    one = G.train([3], 120, SMALL, TC, segment=60)  # also: two segments continue one run exactly
    # Batching reorders float reductions: equal to ~1e-6 for the first steps; later Adam's
    # 1/sqrt(v) amplifies the rounding (loss ~5e-4, C — a ratio of small numbers — ~4e-2 by
    # step 120). Swapping or mixing seeds would differ at O(1) from the start.
    for f, rtol in (("train_loss", 3e-3), ("test_acc", 3e-3), ("weight_norm", 3e-3), ("C", 0.1)):
        x, y = getattr(pair_run.metrics, f)[1], getattr(one.metrics, f)[0]
        np.testing.assert_allclose(x[:7], y[:7], rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-5)
    assert not np.allclose(pair_run.metrics.train_loss[0], pair_run.metrics.train_loss[1])  # seeds differ
    np.testing.assert_array_equal(one.metrics.step, np.arange(0, 121, 10))


def test_lr_boost_fires_once_for_its_window(pair_run):
    tc = TC._replace(lr=3e-2, boost_factor=3.0, boost_steps=30, boost_threshold=0.0, boost_drop=1.0 + 1e-6)
    h = G.train([0, 3], 360, SMALL, tc, segment=120)  # same shapes: reuses the compiled program
    m = h.metrics
    fit = G.fit_step(m.step, m.train_acc)
    assert np.all(fit != G.NEVER)
    for s in range(2):
        t0 = h.boosted_at[s]
        assert t0 != G.NEVER and t0 >= fit[s]
        boosted = m.step[m.lr_scale[s] == 3.0]
        np.testing.assert_array_equal(boosted, t0 + np.arange(10, 31, 10))  # the 3 chunks after firing
    off = G.train([0, 3], 360, SMALL, tc._replace(boost_factor=1.0), segment=120)
    assert np.all(off.boosted_at == G.NEVER) and np.all(off.metrics.lr_scale == 1.0)
    # before the boost the two runs are the same run; during it they differ
    t0 = h.boosted_at[0]
    pre, post = m.step <= t0, m.step == t0 + 10
    np.testing.assert_allclose(m.train_loss[0, pre], off.metrics.train_loss[0, pre], rtol=1e-5)
    assert not np.allclose(m.weight_norm[0, post], off.metrics.weight_norm[0, post], rtol=1e-4)


def test_stop_when_grokked_stops_after_the_last_seed_plus_margin():
    """p = 23, 60 % train: test acc passes a low bar (0.1, also the fit bar here) within a few hundred steps."""
    mc = M.Config(p=23, d_e=16, d_h=32)
    h = G.train([0, 3], 1200, mc, G.TrainConfig(log_every=20, train_frac=0.6, acc=0.1), segment=120,
                stop_when_grokked=True, after_grok=100)
    g = G.grok_step(h.metrics.step, h.metrics.test_acc, 0.1)
    assert np.all(g != G.NEVER) and np.all(h.metrics.test_acc[:, -1] >= 0.1)
    assert h.metrics.step[-1] == 120 * int(np.ceil((g.max() + 100) / 120)) < 1200


@pytest.mark.parametrize("kw, name", [({"lr": -1.0}, "lr"), ({"wd": -0.1}, "wd"), ({"log_every": 0}, "log_every"),
                                      ({"boost_drop": 1.0}, "boost_drop"), ({"train_frac": 1.0}, "train_frac")])
def test_bad_train_config(kw, name):
    with pytest.raises(ValueError, match=name):
        G.train([0], 10, SMALL, G.TrainConfig(**kw))


def test_bad_steps():
    with pytest.raises(ValueError, match="n_steps"):
        G.train([0], 15, SMALL, G.TrainConfig(log_every=10))
    with pytest.raises(ValueError, match="segment"):
        G.train([0], 20, SMALL, G.TrainConfig(log_every=10), segment=15)


# ------------------------------------------------------------------ detection

def test_grok_and_fit_detection_on_synthetic_curves():
    steps = np.arange(0, 3001, 10)
    test_acc = 1 / (1 + np.exp(-(steps - 1500) / 40.0))  # crosses 0.99 at 1500 + 40·ln 99 ≈ 1683.8
    train_acc = np.minimum(1.0, steps / 100.0)
    assert G.grok_step(steps, test_acc) == 1690
    assert G.fit_step(steps, train_acc) == 100
    assert G.grok_step(steps, 0.5 * test_acc) == G.NEVER
    both = G.grok_step(steps, np.stack([test_acc, 0.5 * test_acc]))
    np.testing.assert_array_equal(both, [1690, G.NEVER])


def test_first_crossing_below_with_start():
    steps = np.arange(10)
    C = np.array([0.5, 3, 3, 3, 2, 1.5, 0.9, 0.8, 2, 0.5])
    assert G.first_crossing(steps, C, 1.0, above=False) == 0
    assert G.first_crossing(steps, C, 1.0, above=False, start=2) == 6
    assert G.first_crossing(steps, C, 0.1, above=False, start=2) == G.NEVER
    assert G.first_crossing(steps, C, 1.0, above=False, start=G.NEVER) == G.NEVER


def test_sharp_drop_is_relative_to_running_max_after_start():
    steps = np.arange(8) * 10
    C = np.array([100.0, 1.0, 4.0, 8.0, 6.0, 3.9, 5.0, 1.0])
    assert G.sharp_drop_step(steps, C, 20, factor=2.0) == 50  # max since 20 is 8; 3.9 ≤ 4
    assert G.sharp_drop_step(steps, C, 0, factor=2.0) == 10
    assert G.sharp_drop_step(steps, 10 * C, 20, factor=2.0) == 50  # scale-free
    assert G.sharp_drop_step(steps, C, 20, factor=10.0) == G.NEVER
