"""ZClip and SPAM-style clipping (shld_jax._stabilisers) on hand-computed sequences, and every
stabiliser of notebook 05 composed in optax.chain under jit."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from shld_jax import _stabilisers as S


def _g(norm):
    return {"a": jnp.array([0.6 * norm, 0.8 * norm])}   # global norm = norm


def test_zclip_hand_computed_warmup_spike_and_ema():
    opt = S.zclip(alpha=0.5, z_thresh=2.0, warmup_steps=3)
    s = opt.init(_g(1.0))
    upd = jax.jit(opt.update)
    # warm-up: 1, 2, 3 pass untouched; then mu = 2, var = 2/3 (population)
    for n in (1.0, 2.0, 3.0):
        u, s = upd(_g(n), s)
        np.testing.assert_allclose(optax.tree.norm(u), n, rtol=1e-6)
    np.testing.assert_allclose([s.mean, s.var], [2.0, 2.0 / 3.0], rtol=1e-6)
    # ordinary step: norm 2.5, z = 0.5/(0.8165+1e-6) < 2: no clip; EMA with the raw norm
    u, s = upd(_g(2.5), s)
    mu = 0.5 * 2.0 + 0.5 * 2.5
    var = 0.5 * (2.0 / 3.0) + 0.5 * (2.5 - mu) ** 2
    np.testing.assert_allclose(optax.tree.norm(u), 2.5, rtol=1e-6)
    np.testing.assert_allclose([s.mean, s.var], [mu, var], rtol=1e-5)
    # spike: norm 10, z = (10 - mu)/(sd + eps) > 2 -> c = mu + 2·sd/(z/2), EMA with c
    sd = math.sqrt(var)
    z = (10.0 - mu) / (sd + 1e-6)
    c = mu + 2.0 * sd / (z / 2.0)
    u, s = upd(_g(10.0), s)
    np.testing.assert_allclose(optax.tree.norm(u), c * 10.0 / (10.0 + 1e-6), rtol=1e-5)
    mu2 = 0.5 * mu + 0.5 * c
    np.testing.assert_allclose([s.mean, s.var], [mu2, 0.5 * var + 0.5 * (c - mu2) ** 2], rtol=1e-5)
    assert int(s.n_clipped) == 1 and float(s.z) == pytest.approx(z, rel=1e-5)


def test_zclip_max_grad_norm_and_nonfinite():
    opt = S.zclip(warmup_steps=2, max_grad_norm=1.5)
    s = opt.init(_g(1.0))
    u, s = opt.update(_g(3.0), s)            # warm-up: only the hard cap
    np.testing.assert_allclose(optax.tree.norm(u), 1.5 * 3.0 / (3.0 + 1e-6), rtol=1e-6)
    s0 = s
    u, s = opt.update({"a": jnp.array([jnp.nan, 1.0])}, s)
    assert int(s.count) == int(s0.count) and float(s.mean) == float(s0.mean)
    with pytest.raises(ValueError, match="alpha"):
        S.zclip(alpha=1.0)


def test_spam_clips_a_synthetic_spike_and_resets_moments():
    opt = S.scale_by_spam(b1=0.0, b2=0.5, theta=4.0, reset_interval=3, warmup_steps=2)
    p = {"a": jnp.zeros(2)}
    s = opt.init(p)
    u, s = opt.update({"a": jnp.array([1.0, 1.0])}, s)    # v = 0: nothing clipped; v -> 0.5
    assert int(s.n_clipped) == 0
    np.testing.assert_allclose(s.nu["a"], [0.5, 0.5])
    u, s = opt.update({"a": jnp.array([100.0, 1.0])}, s)  # 100² > 4·0.5: -> sqrt(2)
    assert int(s.n_clipped) == 1
    g = np.array([math.sqrt(2.0), 1.0])
    np.testing.assert_allclose(s.nu["a"], 0.25 + 0.5 * g ** 2, rtol=1e-6)
    np.testing.assert_allclose(s.mu["a"], g, rtol=1e-6)
    u, s = opt.update({"a": jnp.array([1.0, 1.0])}, s)
    # step 3 (count 3): moments reset before the update, warm-up factor restarts at 0.01
    u, s = opt.update({"a": jnp.array([2.0, -2.0])}, s)
    np.testing.assert_allclose(s.nu["a"], [2.0, 2.0], rtol=1e-6)   # 0.5·0 + 0.5·4
    assert int(s.since_reset) == 1
    # Adam restart: m̂/√v̂ = ±1, times the warm-up factor 1 - 0.99 = 0.01
    np.testing.assert_allclose(u["a"], [0.01, -0.01], rtol=1e-4)


STABILISERS = {
    "clip": lambda: optax.clip_by_global_norm(1.0),
    "zclip": lambda: S.zclip(warmup_steps=2),
    "agc": lambda: optax.adaptive_grad_clip(0.01),
}


@pytest.mark.parametrize("name", [*STABILISERS, "spam", "if_finite", "b2_095"])
def test_each_method_composes_in_chain_under_jit(name):
    params = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}
    adamw = optax.adamw(1e-2)
    if name in STABILISERS:
        opt = optax.chain(STABILISERS[name](), adamw)
    elif name == "spam":
        opt = optax.chain(optax.clip_by_global_norm(10.0), S.spam(1e-2, reset_interval=2, warmup_steps=1))
    elif name == "if_finite":
        opt = optax.apply_if_finite(adamw, max_consecutive_errors=5)
    else:
        opt = optax.adamw(1e-2, b2=0.95)
    s = opt.init(params)
    upd = jax.jit(opt.update)
    for i in range(4):
        g = jax.tree_util.tree_map(lambda p: jnp.full_like(p, 1.0 + i), params)
        u, s = upd(g, s, params)
        params = optax.apply_updates(params, u)
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree_util.tree_leaves(params))
