"""Notebook 07's measurement helpers against hand-computed values and the model's own forward."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shld_jax.experiments import stochastic_activations as S
from shld_jax.models import gpt


def test_distinct_n_and_repetition_by_hand():
    ids = np.array([[1, 2, 1, 2, 1], [3, 3, 3, 3, 3]])
    # bigrams: (1,2),(2,1),(1,2),(2,1) + (3,3)x4 -> 3 unique of 8
    assert S.distinct_n(ids, 2) == pytest.approx(3 / 8)
    # 2-gram repetition: row 1 repeats 2 of 4, row 2 repeats 3 of 4
    assert S.repetition_rate(ids, 2) == pytest.approx(5 / 8)


def test_inference_forward_matches_gpt_and_counts_zeros():
    cfg = gpt.GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, act="relu")
    p = gpt.init(jax.random.key(0), cfg)
    x = jax.random.randint(jax.random.key(1), (3, 8), 0, 11)
    logits, z = S.ffn_hidden_zero_fraction(p, x, cfg)
    np.testing.assert_allclose(logits, gpt.forward(p, x, cfg), rtol=1e-5, atol=1e-6)
    assert 0.2 < float(z) < 0.8  # ReLU on near-symmetric pre-activations
    cfg_s = cfg._replace(act="silu")
    _, z_s = S.ffn_hidden_zero_fraction(p, x, cfg_s)
    assert float(z_s) == 0.0


def test_macs_and_paired_difference():
    m = S.ffn_macs(S.RunConfig(n_layer=2, n_embd=4, block_size=8), vocab=10)
    assert m["ffn"] == 2 * 2 * 4 * 16 and m["ffn_down"] == m["ffn"] // 2
    d, se = S.paired_difference([1.0, 2.0, 3.0], [0.5, 1.5, 2.0])
    assert d == pytest.approx(2 / 3) and se == pytest.approx(np.std([0.5, 0.5, 1.0], ddof=1) / np.sqrt(3))


def test_variants_pair_stocha_with_relu_fine_tuning():
    v = S.variants((0.3,))
    assert v["ReLU (scratch)"] == ("relu", "relu")
    pre, ft = v["StochA p=0.3→ReLU FT"]
    assert pre.p == 0.3 and ft == "relu"
    with pytest.raises(ValueError, match="n_seeds"):
        S.train_variant("relu", "relu", S.RunConfig(n_steps=2), n_seeds=0)
