"""TF1's Adadelta, FTRL and proximal gradient descent against NumPy transcriptions of TF1's update rules
(training_ops.cc), and the Coordinator / queue-runner / hook scaffolding."""
import threading

import numpy as np
import pytest

import nnplug as tf

W0 = np.array([0.5, -1.5, 2.0, -0.05])
TARGET = np.array([1.0, 0.5, -1.0, 0.0])


def _train(make_optimizer, steps, backend):
    """Minimise sum((w - target)^2 * 0.5 * [1,2,3,4]) from W0; returns w after each step."""
    scale = np.array([1.0, 2.0, 3.0, 4.0])
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(W0.copy(), name="w")
        loss = tf.reduce_sum(0.5 * scale * tf.square(w - TARGET))
        train = make_optimizer().minimize(loss)
        with tf.Session(backend=backend) as s:
            s.run(tf.global_variables_initializer())
            out = []
            for _ in range(steps):
                s.run(train)
                out.append(s.run(w))
    return out, lambda v: scale * (v - TARGET)


def test_adadelta(backend):
    got, grad = _train(lambda: tf.train.AdadeltaOptimizer(1.0, rho=0.9, epsilon=1e-6), 4, backend)
    w, accum, accum_up = W0.copy(), np.zeros(4), np.zeros(4)
    for step in got:
        g = grad(w)
        accum = 0.9 * accum + 0.1 * g * g
        update = np.sqrt(accum_up + 1e-6) / np.sqrt(accum + 1e-6) * g
        accum_up = 0.9 * accum_up + 0.1 * update * update
        w = w - 1.0 * update
        np.testing.assert_allclose(step, w, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("power,l1,l2,shrink", [(-0.5, 0.0, 0.0, 0.0), (-0.5, 0.3, 0.1, 0.0), (-0.7, 0.1, 0.2, 0.05)])
def test_ftrl(backend, power, l1, l2, shrink):
    got, grad = _train(lambda: tf.train.FtrlOptimizer(0.5, learning_rate_power=power, initial_accumulator_value=0.2,
                                                      l1_regularization_strength=l1, l2_regularization_strength=l2,
                                                      l2_shrinkage_regularization_strength=shrink), 4, backend)
    w, accum, linear, lr = W0.copy(), np.full(4, 0.2), np.zeros(4), 0.5
    for step in got:
        g = grad(w)
        new_accum = accum + g * g
        linear = linear + (g + 2 * shrink * w) - (new_accum ** -power - accum ** -power) / lr * w
        quadratic = new_accum ** -power / lr + 2 * l2
        w = np.where(np.abs(linear) > l1, (np.sign(linear) * l1 - linear) / quadratic, 0.0)
        accum = new_accum
        np.testing.assert_allclose(step, w, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("l1,l2", [(0.0, 0.0), (0.4, 0.0), (0.2, 0.5)])
def test_proximal_gradient_descent(backend, l1, l2):
    got, grad = _train(lambda: tf.train.ProximalGradientDescentOptimizer(0.1, l1, l2), 3, backend)
    w = W0.copy()
    for step in got:
        prox = w - 0.1 * grad(w)
        w = np.sign(prox) * np.maximum(np.abs(prox) - 0.1 * l1, 0) / (1 + 0.1 * l2)
        np.testing.assert_allclose(step, w, rtol=1e-12, atol=1e-14)


def test_ftrl_refuses_bad_settings():
    with pytest.raises(ValueError, match="learning_rate_power"):
        tf.train.FtrlOptimizer(0.1, learning_rate_power=0.5)
    with pytest.raises(ValueError, match="l1"):
        tf.train.FtrlOptimizer(0.1, l1_regularization_strength=-1)


def test_coordinator_stops_threads_and_reraises():
    coord = tf.train.Coordinator()
    seen = []

    def worker(i):
        with coord.stop_on_exception():
            while not coord.should_stop():
                seen.append(i)
                if i == 1 and len(seen) > 5:
                    raise KeyError("worker 1 failed")
                coord.wait_for_stop(0.001)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    with pytest.raises(KeyError, match="worker 1 failed"):
        coord.join(threads, stop_grace_period_secs=10)
    assert coord.should_stop() and not any(t.is_alive() for t in threads)


def test_coordinator_clean_stop_and_queue_runners():
    coord = tf.train.Coordinator()
    with tf.Graph().as_default(), tf.Session() as sess:
        assert tf.train.start_queue_runners(sess=sess, coord=coord) == []
    t = threading.Thread(target=lambda: coord.request_stop())
    t.start()
    coord.join([t])
    assert coord.should_stop()
    coord.clear_stop()
    assert not coord.should_stop()


def test_session_run_hook_defaults_do_nothing():
    class Counting(tf.train.SessionRunHook):
        def after_run(self, run_context, run_values):
            run_context.request_stop()
    hook = Counting()
    hook.begin()
    assert hook.before_run(None) is None
    ctx = tf.train.SessionRunContext(tf.train.SessionRunArgs(fetches=[]), session=None)
    hook.after_run(ctx, tf.train.SessionRunValues([], None, None))
    assert ctx.stop_requested and ctx.original_args.feed_dict is None
