"""Stochastic activations (seed 003) against their definition."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shld_jax._activations import StochA, stochastic_activation

X = jnp.linspace(-4.0, 4.0, 4001).reshape(1, -1)
NEG = X < 0


def test_p0_is_relu_and_p1_is_silu_on_negative_inputs():
    k = jax.random.key(0)
    np.testing.assert_array_equal(stochastic_activation(X, key=k, p=0.0, train=True), jax.nn.relu(X))
    y1 = stochastic_activation(X, key=k, p=1.0, train=True)
    np.testing.assert_allclose(y1[NEG], jax.nn.silu(X)[NEG])
    np.testing.assert_array_equal(y1[~NEG], X[~NEG])  # caption's reading: x >= 0 passes as ReLU(x) = x
    y_all = stochastic_activation(X, key=k, p=1.0, train=True, where="all")
    np.testing.assert_allclose(y_all, jax.nn.silu(X))


def test_empirical_silu_fraction_matches_p():
    x = -jnp.ones((200, 500))  # every element negative: SiLU(-1) != ReLU(-1) = 0
    n = x.size
    for p in (0.1, 0.5, 0.7):
        y = stochastic_activation(x, key=jax.random.key(1), p=p, train=True)
        frac = float(jnp.mean(y != 0))
        assert abs(frac - p) < 5 * np.sqrt(p * (1 - p) / n)


def test_granularity_shares_draws():
    x = -jnp.ones((64, 8, 16))
    tok = stochastic_activation(x, key=jax.random.key(2), p=0.5, train=True, granularity="token")
    per_token = (tok != 0).mean(axis=-1)
    assert set(np.unique(per_token)) <= {0.0, 1.0} and 0 < per_token.mean() < 1
    lay = stochastic_activation(x, key=jax.random.key(2), p=0.5, train=True, granularity="layer")
    assert len(np.unique(lay != 0)) == 1


def test_key_determinism_and_eval_mode():
    a = stochastic_activation(X, key=jax.random.key(3), p=0.5, train=True)
    b = stochastic_activation(X, key=jax.random.key(3), p=0.5, train=True)
    c = stochastic_activation(X, key=jax.random.key(4), p=0.5, train=True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(stochastic_activation(X, key=None, p=0.5, train=False), jax.nn.relu(X))
    np.testing.assert_allclose(stochastic_activation(X, key=None, p=0.5, train=False, eval_act="silu"),
                               jax.nn.silu(X))
    s = StochA(0.5, stochastic_eval=True)
    assert not np.array_equal(s(X, jax.random.key(5), False), jax.nn.relu(X))


def test_gradients_flow_through_both_branches():
    x = jnp.array([-1.0, -2.0, -0.5, -3.0] * 50)
    g = jax.grad(lambda z: stochastic_activation(z, key=jax.random.key(6), p=0.5, train=True).sum())(x)
    g = np.asarray(g)
    assert np.any(g != 0) and np.any(g == 0)  # SiLU elements pass gradient, ReLU ones (x<0) do not
    np.testing.assert_allclose(g[g != 0], np.asarray(jax.grad(lambda z: jax.nn.silu(z).sum())(x))[g != 0])


def test_under_jit_and_in_a_model_config():
    act = StochA(0.3)
    f = jax.jit(lambda x, k: act(x, k, True))
    np.testing.assert_array_equal(f(X, jax.random.key(7)), act(X, jax.random.key(7), True))
    hash(act)  # a static jit argument inside GPTConfig


@pytest.mark.parametrize("kw, name", [(dict(p=1.5), "p"), (dict(p=-0.1), "p"), (dict(granularity="batch"), "granularity"),
                                      (dict(where="pos"), "where"), (dict(eval_act="gelu"), "eval_act")])
def test_bad_arguments(kw, name):
    args = dict(key=jax.random.key(0), p=0.5, train=True)
    args.update(kw)
    with pytest.raises(ValueError, match=name):
        stochastic_activation(X, **args)
    with pytest.raises(ValueError, match="key"):
        stochastic_activation(X, key=None, p=0.5, train=True)
