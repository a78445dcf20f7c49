"""Notebook 07's measurement helpers and verdict arithmetic against hand-computed values."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shld_jax import stats
from shld_jax.experiments import stochastic_activations as S
from shld_jax.models import gpt

TINY = S.RunConfig(n_steps=4, batch_size=2, block_size=8, n_layer=1, n_embd=8, n_head=2, n_val_batches=1, warmup=1)


def test_distinct_n_and_repetition_by_hand():
    ids = np.array([[1, 2, 1, 2, 1], [3, 3, 3, 3, 3]])
    # bigrams: (1,2),(2,1),(1,2),(2,1) + (3,3)x4 -> 3 unique of 8
    assert S.distinct_n(ids, 2) == pytest.approx(3 / 8)
    # 2-gram repetition: row 1 repeats 2 of 4, row 2 repeats 3 of 4
    assert S.repetition_rate(ids, 2) == pytest.approx(5 / 8)
    # per sample: row 1 has 2 distinct bigrams of 4, row 2 has 1 of 4
    np.testing.assert_allclose(S.distinct_per_sample(ids[None], 2), [[0.5, 0.25]])


def test_inference_forward_matches_gpt_and_counts_zeros():
    cfg = gpt.GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, act="relu")
    p = gpt.init(jax.random.key(0), cfg)
    x = jax.random.randint(jax.random.key(1), (3, 8), 0, 11)
    logits, z = S.ffn_hidden_zero_fraction(p, x, cfg)
    np.testing.assert_allclose(logits, gpt.forward(p, x, cfg), rtol=1e-5, atol=1e-6)
    assert 0.2 < float(z) < 0.8  # ReLU on near-symmetric pre-activations
    _, z_s = S.ffn_hidden_zero_fraction(p, x, cfg._replace(act="silu"))
    assert float(z_s) == 0.0


def test_macs_and_paired_tests_by_hand():
    m = S.ffn_macs(S.RunConfig(n_layer=2, n_embd=4, block_size=8), vocab=10)
    assert m["ffn"] == 2 * 2 * 4 * 16 and m["ffn_down"] == m["ffn"] // 2
    # a − b = [-0.2, -0.3, -0.25]: mean -0.25, se 0.0289, t(0.95, 2) = 2.92 -> [-0.334, -0.166]
    a, b = np.array([1.0, 1.1, 1.2]), np.array([1.2, 1.4, 1.45])
    assert S.better_by(a, b, margin=0.1).outcome == stats.PASS
    assert S.better_by(a, b, margin=0.2).outcome == stats.INCONCLUSIVE
    assert S.better_by(b, a, margin=0.01).outcome == stats.FAIL       # b is worse
    assert S.better_by(a, b, margin=0.4).outcome == stats.FAIL        # a 0.4 gain is excluded
    assert S.sparsity_outcome([0.70, 0.71, 0.69]).outcome == stats.PASS
    assert S.sparsity_outcome([0.30, 0.31, 0.29]).outcome == stats.FAIL


def test_interval_and_gap_outcomes():
    io = S.interval_outcome
    assert io(0.05, 0.01, 0.09, low=0.0, high=0.1).outcome == stats.PASS
    assert io(0.05, -0.01, 0.09, low=0.0, high=0.1).outcome == stats.INCONCLUSIVE
    assert io(-0.05, -0.09, -0.01, low=0.0, high=0.1).outcome == stats.FAIL
    assert io(-0.05, -0.09, -0.01, low=None, high=0.1).outcome == stats.PASS
    assert io(0.2, 0.15, 0.25, low=None, high=0.1).outcome == stats.FAIL
    with pytest.raises(ValueError, match="lo"):
        io(0.0, float("nan"), 1.0, high=1.0)
    # the SiLU curve (d, q) = (0.5, 1.0), (0.7, 2.0): at d = 0.6 the curve gives 1.5
    assert S.matched_gap([0.7, 0.5], [2.0, 1.0], 0.6, 1.6) == pytest.approx(0.1)
    assert S.matched_gap([0.5, 0.7], [1.0, 2.0], 0.8, 1.6) is None
    # two identical pairs, no spread within a pair: every bootstrap mean is the gap itself
    sd = np.broadcast_to(np.array([0.5, 0.7])[None, :, None], (2, 2, 4))
    sq = np.broadcast_to(np.array([1.0, 2.0])[None, :, None], (2, 2, 4))
    gaps, boot = S.pair_gaps(sd, sq, np.full((2, 4), 0.6), np.full((2, 4), 1.6), n_boot=50)
    np.testing.assert_allclose(gaps, 0.1)
    np.testing.assert_allclose(boot, 0.1)
    assert S.gap_outcome(gaps, boot, low=0.0, high=0.2).outcome == stats.PASS


def test_char_ngram_is_normalised_and_learns():
    ids = np.array([0, 1] * 50)
    ng = S.CharNGram(ids, vocab=3, order=3)
    for h in ([], [0], [1, 0], [2, 2]):
        assert sum(ng.prob(h, c) for c in range(3)) == pytest.approx(1.0)
    assert ng.prob([1, 0], 1) > 0.95
    assert ng.nll([0, 1, 0], [1, 0, 1]) < 0.1 < ng.nll([0, 1, 0], [2, 2, 2])


def test_moving_average_is_valid_mode_and_centred():
    x, y = S.moving_average(np.array([[1.0, 2.0, 3.0, 4.0]]), 2)
    np.testing.assert_allclose(x, [1.5, 2.5, 3.5])
    np.testing.assert_allclose(y, [[1.5, 2.5, 3.5]])


def test_train_variant_grid_is_paired_and_validated():
    v = S.variants((0.3,))
    assert v["ReLU (scratch)"] == ("relu", "relu")
    pre, ft = v["StochA p=0.3→ReLU FT"]
    assert pre.p == 0.3 and ft == "relu"
    with pytest.raises(ValueError, match="n_seeds"):
        S.train_variant("relu", "relu", TINY, seeds=[])
    r = S.train_variant("relu", "relu", TINY, seeds=[0, 1], lrs=[1e-3, 1e-2])
    assert r["train_loss"].shape == (2, 2, 4) and r["val_relu"].shape == (2, 2)
    # the first loss is computed before any update: same seed, same loss at every lr
    np.testing.assert_allclose(r["train_loss"][0, :, 0], r["train_loss"][1, :, 0], rtol=1e-6)
    assert r["train_loss"][0, 0, 0] != r["train_loss"][0, 1, 0]
    assert np.all(np.isfinite(r["val_relu"])) and np.all((0 <= r["zero_frac"]) & (r["zero_frac"] <= 1))


def test_sample_and_score_grids():
    cfg = gpt.GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8, act="relu")
    ps = jax.vmap(lambda k: gpt.init(k, cfg))(jax.random.split(jax.random.key(0), 2))
    prompts = jax.random.randint(jax.random.key(1), (3, 4), 0, 11)
    s = S.sample_grid(ps, prompts, jnp.array([0.5, 1.0]), jax.random.key(2), cfg=cfg, n_new=5, stochastic=False)
    assert s.shape == (2, 2, 3, 5)
    nll = S.score_grid(ps, prompts, s, cfg=cfg)
    p0 = jax.tree.map(lambda a: a[0], ps)
    full = jnp.concatenate([prompts, s[0, 1]], axis=1)
    logp = jax.nn.log_softmax(gpt.forward(p0, full[:, :-1], cfg), -1)
    ref = -jnp.take_along_axis(logp, full[:, 1:, None], -1)[..., 0][:, -5:].mean(-1)
    np.testing.assert_allclose(nll[0, 1], ref, rtol=1e-5)
    assert math.isfinite(float(nll.sum()))
