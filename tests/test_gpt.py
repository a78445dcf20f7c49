"""Tests of the tiny GPT (shld_jax.models.gpt) and the shipped corpus (shld_jax.data.text)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from shld_jax.data import text
from shld_jax.models import gpt

CFG = gpt.GPTConfig(vocab_size=96, block_size=16, n_layer=2, n_head=2, n_embd=16)
fwd = jax.jit(gpt.forward, static_argnums=2, static_argnames="train")


def test_shapes_and_initial_loss_is_uniform():
    p = gpt.init(jax.random.key(0), CFG)
    idx = jnp.zeros((3, 16), jnp.int32)
    assert fwd(p, idx, CFG).shape == (3, 16, 96)
    x = jax.random.randint(jax.random.key(1), (4, 16), 0, 96)
    y = jax.random.randint(jax.random.key(2), (4, 16), 0, 96)
    # tiny init: predictions are close to uniform, loss close to ln V for unrelated targets
    assert abs(float(jax.jit(gpt.loss, static_argnums=3)(p, x, y, CFG)) - np.log(96)) < 0.05


def test_causal_future_tokens_do_not_change_past_logits():
    p = gpt.init(jax.random.key(0), CFG)
    x = jax.random.randint(jax.random.key(1), (2, 16), 0, 96)
    y = x.at[:, 10:].set((x[:, 10:] + 7) % 96)
    a, b = fwd(p, x, CFG), fwd(p, y, CFG)
    np.testing.assert_allclose(a[:, :10], b[:, :10], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[:, 10:], b[:, 10:])


def test_training_on_corpus_reduces_loss():
    data = jnp.asarray(text.load_corpus().train)
    p = gpt.init(jax.random.key(0), CFG)
    opt = optax.adam(1e-2)

    def step(carry, k):
        p, s = carry
        x, y = text.get_batch(k, data, 8, CFG.block_size)
        l, g = jax.value_and_grad(gpt.loss)(p, x, y, CFG)
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), l

    _, ls = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), jax.random.split(jax.random.key(2), 60)))(p)
    assert float(ls[-20:].mean()) < float(ls[:5].mean()) - 0.8


def test_activation_is_a_parameter_and_receives_key_and_train():
    seen = []

    def noisy(x, key, train):
        seen.append((key is not None, train))
        return jax.nn.relu(x) + (jax.random.normal(key, x.shape) if train else 0.0)

    cfg = CFG._replace(act=noisy)
    p = gpt.init(jax.random.key(0), cfg)
    x = jnp.ones((1, 8), jnp.int32)
    a = fwd(p, x, cfg, key=jax.random.key(1), train=True)
    b = fwd(p, x, cfg, key=jax.random.key(2), train=True)
    c = fwd(p, x, cfg, key=jax.random.key(1), train=False)
    d = fwd(p, x, CFG._replace(act="relu"), key=jax.random.key(1), train=True)
    assert not np.allclose(a, b)          # a different key gives different activations
    np.testing.assert_allclose(c, d, rtol=1e-6)
    assert seen[:2] == [(True, True), (True, True)]
    r = fwd(p, x, CFG._replace(act="silu"))
    assert not np.allclose(r, d)


def test_bad_config_raises():
    with pytest.raises(ValueError, match="act"):
        gpt.init(jax.random.key(0), CFG._replace(act="swish9"))
    with pytest.raises(ValueError, match="n_head"):
        gpt.init(jax.random.key(0), CFG._replace(n_head=3))
    with pytest.raises(ValueError, match="n_layer"):
        gpt.init(jax.random.key(0), CFG._replace(n_layer=0))


def test_generate_appends_tokens_and_matches_forward_greedy():
    p = gpt.init(jax.random.key(0), CFG)
    prompt = jnp.array([[1, 2, 3]], jnp.int32)
    out = gpt.generate(p, prompt, 20, CFG, key=jax.random.key(3), temperature=1e-6)
    assert out.shape == (1, 23) and np.array_equal(out[:, :3], prompt)
    # greedy next token from the full forward pass on the first 10 tokens
    nxt = int(jnp.argmax(fwd(p, out[:, :10], CFG)[0, -1]))
    assert int(out[0, 10]) == nxt


def test_corpus_header_vocab_and_permutation():
    raw = text.CORPUS.read_text()
    assert "Software Foundation" in raw and "PSF" in raw.split(text.HEADER_END)[0]
    c = text.load_corpus()
    assert c.vocab_size == 96 and len(c.train) > 300_000
    assert text.decode(text.encode("Hello, world\n")) == "Hello, world\n"
    perm = np.asarray(text.permutation(jax.random.key(0), 96))
    assert sorted(perm) == list(range(96)) and not np.any(perm == np.arange(96))
    x, y = text.get_batch(jax.random.key(0), jnp.asarray(c.train), 4, 16)
    assert np.array_equal(x[:, 1:], y[:, :-1])


def test_the_one_cross_entropy_is_minus_log_softmax_at_the_label():
    from shld_jax.models import _losses

    logits = jax.random.normal(jax.random.key(0), (3, 5, 7)) * 4.0
    y = jax.random.randint(jax.random.key(1), (3, 5), 0, 7)
    ref = -np.take_along_axis(np.asarray(jax.nn.log_softmax(logits, axis=-1), np.float64),
                              np.asarray(y)[..., None], axis=-1)[..., 0]
    got = _losses.nll(logits, y)
    assert got.shape == (3, 5)
    np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-5, atol=1e-6)
    assert float(_losses.cross_entropy(logits, y)) == pytest.approx(ref.mean(), rel=1e-5)
    big = jnp.array([[1e4, 0.0, -1e4]])  # logsumexp form: no overflow at large logits
    assert np.isfinite(float(_losses.nll(big, jnp.array([2]))[0]))
