"""map_fn, scan, foldl and foldr over a leading dimension unknown when the graph is built (a while_loop over
TensorArrays): values against float64 NumPy, the same as the unrolled path on the same data, gradients
against finite differences, nested structures, map_fn's dtype, and errors naming the function."""
import collections

import numpy as np
import pytest

import nnplug as tf
from nnplug.ops import script_ops
from nnplug.testing import numeric_gradient

Pair = collections.namedtuple("Pair", "a b")


def run_both(build, arrays, backend):
    """build's results with the inputs' leading dimension unknown (the loop) and known (unrolled)."""
    results = []
    for leading in (None, "known"):
        with tf.Graph().as_default():
            phs = [tf.placeholder(tf.as_dtype(a.dtype), (None if leading is None else a.shape[0],) + a.shape[1:])
                   for a in arrays]
            out = build(*phs)
            with tf.Session(backend=backend) as sess:
                results.append(sess.run(out, dict(zip(phs, arrays))))
    return results


def check_gradient_unknown_leading(build, arrays, backend, rtol=1e-6, atol=1e-8):
    """Gradients of sum(build(*x) * w) against central differences, inputs fed with a leading None."""
    with tf.Graph().as_default():
        phs = [tf.placeholder(tf.float64, (None,) + a.shape[1:]) for a in arrays]
        y = build(*phs)
        w = tf.placeholder(tf.float64, None)
        grads = tf.gradients(tf.reduce_sum(y * w), phs)
        with tf.Session(backend=backend) as sess:
            feed = dict(zip(phs, arrays))
            wv = np.random.default_rng(0).uniform(0.5, 1.5, np.shape(sess.run(y, feed)))
            got = sess.run(grads, {**feed, w: wv})
            for i, g in enumerate(got):
                num = numeric_gradient(lambda arrs: float(np.sum(sess.run(y, dict(zip(phs, arrs))) * wv)),
                                       [a.copy() for a in arrays], i, 1e-6)
                np.testing.assert_allclose(g, num, rtol=rtol, atol=atol, err_msg=f"gradient for input {i}")


X = np.linspace(-1.5, 2.0, 15).reshape(5, 3)


def test_all_four_with_an_unknown_leading_dimension_match_numpy_and_the_unrolled_path(backend):
    def build(t):
        return [tf.map_fn(lambda r: tf.reduce_sum(r * r), t),
                tf.map_fn(lambda rs: (rs[0] + rs[1], rs[0] * 2.0), (t, t * 3.0)),
                tf.foldl(lambda a, r: a * 0.5 + r, t),
                tf.foldr(lambda a, r: a - r, t, initializer=tf.zeros((3,), tf.float64)),
                tf.scan(lambda a, r: a + r, t),
                tf.scan(lambda a, r: a * r, t, initializer=tf.ones((3,), tf.float64)),
                tf.scan(lambda a, r: a + r, t, reverse=True)]
    loop, unrolled = run_both(build, [X], backend)
    acc = X[0]
    for r in X[1:]:
        acc = acc * 0.5 + r
    want = [(X * X).sum(1), (4 * X, 2 * X), acc, -X.sum(0), np.cumsum(X, 0), np.cumprod(X, 0),
            np.cumsum(X[::-1], 0)[::-1]]
    for got_loop, got_unrolled, ref in zip(loop, unrolled, want):
        np.testing.assert_allclose(np.asarray(got_loop), np.asarray(ref), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.asarray(got_loop), np.asarray(got_unrolled), rtol=1e-12, atol=1e-12)


def test_long_static_lengths_loop_too(backend, monkeypatch):
    monkeypatch.setattr(script_ops, "UNROLL_MAX", 2)  # 5 rows known when building: the loop path
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, X.shape)
        y = tf.scan(lambda a, r: a * 0.5 + r, x)
        assert y.shape.as_list() == [5, 3]
        assert any(op.type == "While" for op in tf.get_default_graph().get_operations())
        with tf.Session(backend=backend) as sess:
            acc, rows = X[0], [X[0]]
            for r in X[1:]:
                acc = acc * 0.5 + r
                rows.append(acc)
            np.testing.assert_allclose(sess.run(y, {x: X}), np.stack(rows), rtol=1e-12)


def test_gradients_through_the_loop_paths(backend):
    check_gradient_unknown_leading(lambda t: tf.map_fn(lambda r: tf.tanh(r) * r, t), [X], backend)
    check_gradient_unknown_leading(lambda t: tf.scan(lambda a, r: tf.sin(a) * r + r, t), [X], backend)
    check_gradient_unknown_leading(
        lambda t, u: tf.foldr(lambda a, r: a * r[0] + tf.exp(r[1]), (t, u),
                              initializer=tf.reduce_sum(u, 0) * 0.0 + 1.0),
        [X * 0.5, X[::-1] * 0.3], backend)


def test_nested_elems_initializers_and_a_dtype_for_another_structure(backend):
    def build(t, ids):
        mapped = tf.map_fn(lambda e: {"sum": tf.reduce_sum(e["x"]) * tf.cast(e["id"], tf.float64),
                                      "both": Pair(e["x"] * 2.0, tf.cast(e["id"], tf.float64))},
                           {"x": t, "id": ids}, dtype={"sum": tf.float64, "both": Pair(tf.float64, tf.float64)})
        folded = tf.foldl(lambda acc, r: Pair(acc.a + r, acc.b * 2.0), t,
                          initializer=Pair(tf.zeros((3,), tf.float64), tf.constant(1.0, tf.float64)))
        return mapped, folded
    ids = np.arange(5, dtype=np.int32)
    (mapped, folded), (mapped_u, folded_u) = run_both(build, [X, ids], backend)
    assert set(mapped) == {"sum", "both"} and isinstance(mapped["both"], Pair) and isinstance(folded, Pair)
    np.testing.assert_allclose(mapped["sum"], X.sum(1) * ids)
    np.testing.assert_allclose(mapped["both"].a, X * 2)
    np.testing.assert_allclose(mapped["both"].b, ids.astype(float))
    np.testing.assert_allclose(folded.a, X.sum(0))
    assert folded.b == 32.0
    np.testing.assert_allclose(mapped_u["sum"], mapped["sum"])
    np.testing.assert_allclose(folded_u.a, folded.a)


def test_an_empty_leading_dimension(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        y = tf.map_fn(lambda r: r * 2.0, x)
        s = tf.scan(lambda a, r: a + r, x, initializer=tf.zeros((3,)))
        with tf.Session(backend=backend) as sess:
            got_y, got_s = sess.run([y, s], {x: np.zeros((0, 3), np.float32)})
            assert got_y.shape == (0, 3) and got_s.shape == (0, 3)
            with pytest.raises(tf.errors.InvalidArgumentError, match="TensorArray 'scan_elems_0'.*index 0"):
                sess.run(tf.scan(lambda a, r: a + r, x), {x: np.zeros((0, 3), np.float32)})


def test_bad_functions_are_refused_naming_the_function():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        with pytest.raises(ValueError, match=r"map_fn: fn returns \(T, T\) where elems \(pass dtype for another\) "
                                             r"are T"):
            tf.map_fn(lambda r: (r, r), x)
        with pytest.raises(TypeError, match="map_fn: output 0 of fn .* is int32, expected float32"):
            tf.map_fn(lambda r: tf.cast(r, tf.int32), x)
        with pytest.raises(ValueError, match=r"scan: fn returns \[T, T\] where the accumulator is T"):
            tf.scan(lambda a, r: [a, r], x)
        with pytest.raises(ValueError, match="foldl: the element .* is a scalar"):
            tf.foldl(lambda a, r: a + r, tf.constant(1.0))
        with pytest.raises(ValueError, match="map_fn: the elements have different leading sizes"):
            tf.map_fn(lambda e: e[0], (tf.zeros((2, 3)), tf.zeros((3, 3))))


def test_map_fn_inside_map_fn(backend, monkeypatch):
    monkeypatch.setattr(script_ops, "UNROLL_MAX", 0)  # the inner map over 3 known elements loops too
    check_gradient_unknown_leading(lambda t: tf.map_fn(lambda r: tf.reduce_sum(tf.map_fn(tf.sin, r) * r), t), [X],
                                   backend)
