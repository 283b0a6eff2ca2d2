"""tf.random's gamma, Poisson and stateless draws (nnplug/ops/random_more.py): moments against the
distributions' own, determinism per seed, independence across seeds."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError


def test_gamma_and_poisson_moments_and_seeding():
    tf.reset_default_graph()
    tf.set_random_seed(3)
    g = tf.random.gamma([20000], [1.0, 4.0], beta=[2.0, 0.5], dtype=tf.float64)
    p = tf.random_poisson([3.0, 0.5], [20000])
    with tf.Session() as s:
        gv, pv = s.run([g, p])
    with tf.Session() as s:
        again = s.run(g)
    assert gv.shape == (20000, 2) and pv.shape == (20000, 2)
    # Gamma(alpha, rate beta): mean alpha / beta, variance alpha / beta^2; Poisson: both lam
    assert np.allclose(gv.mean(0), [0.5, 8.0], rtol=0.03) and np.allclose(gv.var(0), [0.25, 16.0], rtol=0.06)
    assert np.allclose(pv.mean(0), [3.0, 0.5], rtol=0.03) and np.allclose(pv.var(0), [3.0, 0.5], rtol=0.06)
    assert np.array_equal(gv, again)  # graph seed + op seed: the same stream in each new Session
    with pytest.raises(InvalidArgumentError, match="positive"):
        with tf.Session() as s:
            s.run(tf.random_gamma([2], [-1.0]))


def test_stateless_draws_depend_only_on_the_seed():
    seed = tf.placeholder(tf.int32, [2])
    u = tf.random.stateless_uniform([4000], seed, minval=-1.0, maxval=3.0)
    n = tf.random.stateless_normal([4000], seed, mean=1.0, stddev=2.0, dtype=tf.float64)
    t = tf.random.stateless_truncated_normal([4000], seed)
    i = tf.random.stateless_uniform([4000], seed, minval=2, maxval=5, dtype=tf.int32)
    c = tf.random.stateless_categorical(tf.log([[0.2, 0.8, 0.0]]), 4000, seed)
    with tf.Session() as s:
        a = s.run([u, n, t, i, c], {seed: [1, 2]})
        b = s.run([u, n, t, i, c], {seed: [1, 2]})
        other = s.run(u, {seed: [2, 1]})
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    assert not np.allclose(a[0], other)
    assert a[0].min() >= -1 and a[0].max() < 3 and abs(a[0].mean() - 1.0) < 0.1
    assert abs(a[1].mean() - 1.0) < 0.1 and abs(a[1].std() - 2.0) < 0.1
    assert np.abs(a[2]).max() <= 2.0 and abs(a[2].std() - 0.88) < 0.05  # a normal truncated at 2 sigma
    assert set(a[3].tolist()) == {2, 3, 4}
    counts = np.bincount(a[4].reshape(-1), minlength=3)
    assert counts[2] == 0 and abs(counts[1] / 4000 - 0.8) < 0.03
    assert a[4].dtype == np.int64


def test_fold_in_and_get_seed():
    with tf.Session() as s:
        f1, f2, f1_again = s.run([tf.random.fold_in([1, 2], 3), tf.random.fold_in([1, 2], 4),
                                  tf.random.fold_in([1, 2], 3)])
    assert f1.shape == (2,) and np.array_equal(f1, f1_again) and not np.array_equal(f1, f2)
    tf.reset_default_graph()
    assert tf.get_seed(None) == (None, None)
    tf.set_random_seed(5)
    assert tf.random.get_seed(7) == (5, 7)


def test_split_and_the_older_names():
    seeds = tf.random.split([3, 4], num=3)
    draws = tf.random.stateless_multinomial(tf.log([[0.5, 0.5]]), 50, [3, 4], output_dtype=tf.int32)
    with tf.Session() as s:
        a, b, d = s.run([seeds, tf.random.split([3, 4], num=3), draws])
    assert a.shape == (3, 2) and np.array_equal(a, b) and len({tuple(r) for r in a.tolist()}) == 3
    assert d.dtype == np.int32 and set(d.reshape(-1).tolist()) <= {0, 1}
    assert tf.random.uniform_candidate_sampler is tf.nn.uniform_candidate_sampler
