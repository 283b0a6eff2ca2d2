"""Gradients through tf.while_loop: against hand-derived float64 NumPy references and central finite
differences, with trip counts known only at run time, captured tensors and variables, nested structures,
zero iterations, maximum_iterations, back_prop=False, and loops and conds inside loops."""
import collections

import numpy as np
import pytest

import nnplug as tf
from nnplug.testing import check_gradient, numeric_gradient


def power(x, n):
    """x**n by a loop of n multiplications (n: an int32 tensor)."""
    _, y = tf.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, a * x), [tf.constant(0), tf.ones_like(x)])
    return y


def test_power_by_loop_with_a_trip_count_fed_at_run_time(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (3,))
        n = tf.placeholder(tf.int32, ())
        y = power(x, n)
        (g,) = tf.gradients(tf.reduce_sum(y), [x])
        xv = np.array([0.5, -1.5, 2.0])
        with tf.Session(backend=backend) as sess:
            for k in (0, 1, 4, 7):
                got_y, got_g = sess.run([y, g], {x: xv, n: k})
                np.testing.assert_allclose(got_y, xv ** k, rtol=1e-12)
                np.testing.assert_allclose(got_g, k * xv ** (k - 1) if k else np.zeros(3), rtol=1e-12)
            assert len(sess._plans) == 1  # one plan serves every trip count


def test_power_gradient_matches_finite_differences(backend):
    check_gradient(lambda x: power(x, tf.constant(5)), [np.linspace(-1.2, 1.4, 6).reshape(2, 3)], backend)


def recurrence(h0, xs, w):
    """h <- tanh(h @ w + xs[t]) for every row t of xs, the loop counting steps as TF1 loops do."""
    steps = tf.shape(xs)[0]

    def body(t, h):
        return t + 1, tf.tanh(tf.matmul(h, w) + tf.gather(xs, t))
    return tf.while_loop(lambda t, h: t < steps, body, [tf.constant(0), h0])[1]


def recurrence_np(h0, xs, w):
    h = h0
    for x in xs:
        h = np.tanh(h @ w + x)
    return h


def test_loop_over_a_matmul_trains_its_variable(backend):
    rng = np.random.default_rng(1)
    h0v, xsv = rng.normal(size=(2, 3)), rng.normal(size=(5, 3)) * 0.5
    w0 = rng.normal(size=(3, 3)) * 0.4
    target = np.full((2, 3), 0.25)
    with tf.Graph().as_default():
        h0 = tf.placeholder(tf.float64, (None, 3))
        xs = tf.placeholder(tf.float64, (None, 3))
        w = tf.Variable(w0, name="w")
        h = recurrence(h0, xs, w)
        loss = tf.reduce_sum(tf.square(h - target))
        g_w, g_h0, g_xs = tf.gradients(loss, [w, h0, xs])
        step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        feed = {h0: h0v, xs: xsv}
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            got_w, got_h0, got_xs = sess.run([g_w, g_h0, g_xs], feed)

            def f(args):
                w_, h0_, xs_ = args
                return np.sum((recurrence_np(h0_, xs_, w_) - target) ** 2)
            for i, got in enumerate((got_w, got_h0, got_xs)):
                num = numeric_gradient(f, [w0.copy(), h0v.copy(), xsv.copy()], i, 1e-6)
                np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8)
            first = sess.run(loss, feed)
            for _ in range(30):
                sess.run(step, feed)
            assert sess.run(loss, feed) < 0.5 * first


def test_nested_loop_variables_and_captured_tensors(backend):
    State = collections.namedtuple("State", "c h")

    def build(x, c0, scale):
        def body(i, s):
            c = s["state"].c * tf.sin(x) + scale
            return i + 1, {"state": State(c, s["state"].h + c * x), "pair": (s["pair"][0] * x, s["pair"][1] + 1.0)}
        init = {"state": State(c0, tf.zeros_like(c0)), "pair": (tf.ones_like(x), x)}
        _, out = tf.while_loop(lambda i, s: i < 3, body, [tf.constant(0), init])
        assert isinstance(out["state"], State) and isinstance(out["pair"], tuple)
        return out["state"].h * out["pair"][0] + out["pair"][1] * out["state"].c

    check_gradient(build, [np.linspace(-1, 1, 4), np.linspace(0.5, 1.5, 4), np.array(0.3)], backend)


def test_gradient_when_the_loop_runs_zero_times(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (2,))
        c = tf.placeholder(tf.float64, (2,))
        n = tf.placeholder(tf.int32, ())
        _, y = tf.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, a * c + x), [tf.constant(0), x * 3.0])
        g_x, g_c = tf.gradients(tf.reduce_sum(y), [x, c])
        with tf.Session(backend=backend) as sess:
            got_x, got_c = sess.run([g_x, g_c], {x: [1.0, 2.0], c: [0.5, -1.0], n: 0})
            np.testing.assert_array_equal(got_x, [3.0, 3.0])  # y = 3x: no iteration ran
            np.testing.assert_array_equal(got_c, [0.0, 0.0])
            # one iteration: y = 3x*c + x
            got_x, got_c = sess.run([g_x, g_c], {x: [1.0, 2.0], c: [0.5, -1.0], n: 1})
            np.testing.assert_allclose(got_x, [3 * 0.5 + 1, 3 * -1.0 + 1])
            np.testing.assert_allclose(got_c, [3.0, 6.0])


def test_maximum_iterations_and_back_prop_false(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, ())
        limit = tf.placeholder(tf.int32, ())
        y = tf.while_loop(lambda a: a < 1e9, lambda a: a * x, x, maximum_iterations=limit)
        fixed = tf.while_loop(lambda a: a < 1e9, lambda a: a * x, x, maximum_iterations=2)
        frozen = tf.while_loop(lambda a: a < 1e9, lambda a: a * x, x, maximum_iterations=2, back_prop=False)
        (g,) = tf.gradients(y, [x])
        (g_fixed,) = tf.gradients(fixed, [x])
        assert tf.gradients(frozen, [x]) == [None]
        with tf.Session(backend=backend) as sess:
            for k in (0, 3):
                got_y, got_g = sess.run([y, g], {x: 1.5, limit: k})
                np.testing.assert_allclose([got_y, got_g], [1.5 ** (k + 1), (k + 1) * 1.5 ** k], rtol=1e-12)
            np.testing.assert_allclose(sess.run([frozen, g_fixed], {x: 1.5}), [1.5 ** 3, 3 * 1.5 ** 2], rtol=1e-12)


def test_loop_inside_a_loop(backend):
    def build(x):
        def outer(i, acc):
            _, inner = tf.while_loop(lambda j, a: j < i + 1, lambda j, a: (j + 1, a * tf.cos(x) + acc), [0, acc])
            return i + 1, inner
        return tf.while_loop(lambda i, a: i < 3, outer, [tf.constant(0), x])[1]

    def reference(x):
        acc = x
        for i in range(3):
            a = acc
            for _ in range(i + 1):
                a = a * np.cos(x) + acc
            acc = a
        return acc
    xv = np.linspace(-1, 1, 5)
    got = check_gradient(build, [xv], backend)
    assert got is not None
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (5,))
        with tf.Session(backend=backend) as sess:
            np.testing.assert_allclose(sess.run(build(x), {x: xv}), reference(xv), rtol=1e-12)


def test_cond_inside_a_loop(backend):
    def build(x):
        def body(i, a):
            return i + 1, tf.cond(tf.equal(tf.mod(i, 2), 0), lambda: a * x, lambda: tf.sin(a) + x)
        return tf.while_loop(lambda i, a: i < 4, body, [tf.constant(0), x])[1]

    xv = np.linspace(0.2, 1.1, 4)
    check_gradient(build, [xv], backend)
    ref = xv
    for i in range(4):
        ref = ref * xv if i % 2 == 0 else np.sin(ref) + xv
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (4,))
        with tf.Session(backend=backend) as sess:
            np.testing.assert_allclose(sess.run(build(x), {x: xv}), ref, rtol=1e-12)


def test_variable_made_inside_the_body_gets_its_gradient(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (2, 3))

        def body(i, h):
            with tf.variable_scope("cell", reuse=tf.AUTO_REUSE):
                w = tf.get_variable("w", (3, 3), tf.float64, initializer=tf.constant_initializer(0.1))
            return i + 1, tf.tanh(tf.matmul(h, w)) + h
        h = tf.while_loop(lambda i, h: i < 2, body, [tf.constant(0), x])[1]
        (w,) = tf.trainable_variables()
        assert w.name == "cell/w:0"
        loss = tf.reduce_sum(h)
        (g,) = tf.gradients(loss, [w])
        xv = np.arange(6.0).reshape(2, 3) / 6
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(g, {x: xv})

        def f(args):
            hv = xv
            for _ in range(2):
                hv = np.tanh(hv @ args[0]) + hv
            return hv.sum()
        np.testing.assert_allclose(got, numeric_gradient(f, [np.full((3, 3), 0.1)], 0, 1e-6), rtol=1e-6)


def test_capture_that_depends_on_another_capture_counts_once(backend):
    # the body reads both a and b = 2a: d/da must count the path through b once, not twice
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float64, ())
        b = a * 2.0
        zero = tf.constant(0.0, tf.float64)
        y = tf.while_loop(lambda i, s: i < 2, lambda i, s: (i + 1, s + a * b), [tf.constant(0), zero])[1]
        (g,) = tf.gradients(y, [a])
        with tf.Session(backend=backend) as sess:
            np.testing.assert_allclose(sess.run(g, {a: 1.5}), 2 * 4 * 1.5)  # y = 2 * 2a^2


def test_random_draws_in_the_body_are_the_ones_differentiated(backend):
    # a dropout-like mask drawn each iteration: the backward pass must use the same masks
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (50,))

        def body(i, h, masks):
            m = tf.cast(tf.random_uniform((50,), seed=3) < 0.5, tf.float64)
            return i + 1, h * m * 2.0 + x, masks + m * tf.cast(i + 1, tf.float64)
        _, y, masks = tf.while_loop(lambda i, h, m: i < 2, body, [tf.constant(0), x, tf.zeros((50,), tf.float64)])
        (g,) = tf.gradients(tf.reduce_sum(y), [x])
        with tf.Session(backend=backend) as sess:
            got_g, got_m = sess.run([g, masks], {x: np.ones(50)})
        m1, m2 = got_m % 2, got_m // 2  # masks + 1*m1 + 2*m2
        # y = ((x*m1*2 + x)*m2*2 + x): dy/dx = 4 m1 m2 + 2 m2 + 1
        np.testing.assert_allclose(got_g, 4 * m1 * m2 + 2 * m2 + 1)


def test_second_derivative_is_refused_by_name_and_the_unrolled_form_gives_it():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, ())
        (g,) = tf.gradients(power(x, tf.constant(3)), [x])
        with pytest.raises(NotImplementedError, match="second derivative through tf.while_loop.*Python loop"):
            tf.gradients(g, [x])
    with tf.Graph().as_default():  # what the message suggests: a Hessian-vector product of unrolled steps
        x, v = tf.placeholder(tf.float64, (3,)), tf.placeholder(tf.float64, (3,))
        y = x
        for _ in range(3):
            y = tf.sin(y) * x
        (g,) = tf.gradients(tf.reduce_sum(y), [x])
        (hv,) = tf.gradients(tf.reduce_sum(g * v), [x])
        xv, vv, eps = np.array([0.3, -0.7, 1.1]), np.array([1.0, 2.0, -1.0]), 1e-6
        with tf.Session() as sess:
            central = (sess.run(g, {x: xv + eps * vv}) - sess.run(g, {x: xv - eps * vv})) / (2 * eps)
            np.testing.assert_allclose(sess.run(hv, {x: xv, v: vv}), central, rtol=1e-6)


def test_loop_variable_the_body_does_not_read(backend):
    """y is overwritten every iteration (y <- z * c, z <- z + 1), so after n >= 1 iterations
    y = (x + n - 1) * c: its gradient comes from z; the initial 5x counts only when no iteration runs."""
    with tf.Graph().as_default():
        x, c = tf.placeholder(tf.float64, (2,)), tf.placeholder(tf.float64, (2,))
        n = tf.placeholder(tf.int32, ())
        _, y, _ = tf.while_loop(lambda i, y, z: i < n, lambda i, y, z: (i + 1, z * c, z + 1.0), [0, x * 5.0, x])
        grads = tf.gradients(tf.reduce_sum(y), [x, c])
        xv, cv = np.array([1.0, 2.0]), np.array([0.5, -1.0])
        with tf.Session(backend=backend) as sess:
            got_x, got_c = sess.run(grads, {x: xv, c: cv, n: 3})
            np.testing.assert_allclose(got_x, cv)
            np.testing.assert_allclose(got_c, xv + 2.0)
            got_x, got_c = sess.run(grads, {x: xv, c: cv, n: 0})
            np.testing.assert_allclose(got_x, [5.0, 5.0])
            np.testing.assert_allclose(got_c, [0.0, 0.0])


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_loop_inside_a_cond(backend, sign):
    def build(x):
        def loop():
            return tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, tf.sin(a) * x), [0, x])[1]
        return tf.cond(tf.reduce_sum(x) > 0, loop, lambda: x * 2.0)
    check_gradient(build, [sign * np.linspace(0.1, 1, 4)], backend)
