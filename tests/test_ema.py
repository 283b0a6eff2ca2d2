"""tf.train.ExponentialMovingAverage against the NumPy recurrence shadow = d * shadow + (1 - d) * value,
d = decay or min(decay, (1 + n) / (10 + n)) with num_updates n, and TF1's names and restore mapping."""
import numpy as np
import pytest

import nnplug as tf

VALUES = [2.0, -1.0, 4.5, 0.25, 3.0]


def _track(decay, values, backend, num_updates=None):
    """Set a variable to each value and run the average's update; the shadow after each."""
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.array([10.0, -3.0]), name="v")
        x = tf.placeholder(tf.float64, [2])
        n = tf.Variable(0, name="n", dtype=tf.int64, trainable=False)
        ema = tf.train.ExponentialMovingAverage(decay, num_updates=None if num_updates is None else n)
        apply = ema.apply([v])
        set_v = v.assign(x)
        shadows = []
        with tf.Session(backend=backend) as s:
            s.run(tf.global_variables_initializer())
            np.testing.assert_allclose(s.run(ema.average(v)), [10.0, -3.0])  # starts as its variable
            for i, value in enumerate(values):
                s.run(set_v, {x: [value, 2 * value]})
                if num_updates is not None:
                    n.load(num_updates[i], s)
                s.run(apply)
                shadows.append(s.run(ema.average(v)))
    return shadows


def _recurrence(decays, values, start):
    shadow, out = np.array(start), []
    for d, value in zip(decays, values):
        shadow = d * shadow + (1 - d) * np.array([value, 2 * value])
        out.append(shadow)
    return out


def test_shadow_follows_the_recurrence(backend):
    got = _track(0.9, VALUES, backend)
    # as TF1, the decay is a float32 tensor cast to the variable's dtype
    np.testing.assert_allclose(got, _recurrence([float(np.float32(0.9))] * 5, VALUES, [10.0, -3.0]), rtol=1e-12)


def test_num_updates_caps_the_decay(backend):
    steps = [0, 1, 5, 50, 1000]
    got = _track(0.99, VALUES, backend, num_updates=steps)
    decays = [min(np.float32(0.99), np.float32(1 + n) / np.float32(10 + n)) for n in steps]  # 0.1, ..., 0.99
    np.testing.assert_allclose(got, _recurrence([float(d) for d in decays], VALUES, [10.0, -3.0]), rtol=1e-12)


def test_averages_after_each_training_step_and_names_like_tf1():
    with tf.Graph().as_default():
        gs = tf.train.get_or_create_global_step()
        w = tf.Variable(1.0, name="w")
        train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.square(w - 3.0), global_step=gs)
        ema = tf.train.ExponentialMovingAverage(0.5)
        with tf.control_dependencies([train]):
            train_and_average = ema.apply([w])
        shadow = ema.average(w)
        assert shadow.name == "w/ExponentialMovingAverage:0"
        assert ema.average_name(w) == "w/ExponentialMovingAverage"
        assert tf.get_collection(tf.GraphKeys.MOVING_AVERAGE_VARIABLES) == [w]
        assert shadow in tf.global_variables() and shadow not in tf.trainable_variables()
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            got = []
            for _ in range(4):
                s.run(train_and_average)
                got.append(s.run(shadow))
        w_np, shadow_np, want = 1.0, 1.0, []
        for _ in range(4):
            w_np -= 0.1 * 2 * (w_np - 3.0)  # the average sees the variable after the step
            shadow_np = 0.5 * shadow_np + 0.5 * w_np
            want.append(shadow_np)
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_variables_to_restore_loads_the_averages_into_the_variables(tmp_path):
    with tf.Graph().as_default():
        w = tf.Variable([1.0, 2.0], name="w")
        other = tf.Variable(5.0, name="other", trainable=False)
        ema = tf.train.ExponentialMovingAverage(0.75)
        apply = ema.apply([w])
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            s.run(w.assign([3.0, -2.0]))
            s.run(apply)
            averaged = s.run(ema.average(w))
            path = tf.train.Saver().save(s, str(tmp_path / "model"))
        np.testing.assert_allclose(averaged, [1.5, 1.0])  # 0.75 * [1, 2] + 0.25 * [3, -2]
    with tf.Graph().as_default():
        w = tf.Variable([0.0, 0.0], name="w")
        other = tf.Variable(0.0, name="other", trainable=False)
        ema = tf.train.ExponentialMovingAverage(0.75)
        mapping = ema.variables_to_restore()
        assert mapping == {"w/ExponentialMovingAverage": w, "other": other}
        with tf.Session() as s:
            tf.train.Saver(mapping).restore(s, path)
            np.testing.assert_allclose(s.run(w), [1.5, 1.0])
            assert s.run(other) == 5.0


@pytest.mark.parametrize("zero_debias", [False, True])
def test_averages_of_tensors_start_at_zero_and_can_be_debiased(zero_debias):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [], name="x")
        value = tf.identity(x, name="value")
        ema = tf.train.ExponentialMovingAverage(0.8, zero_debias=zero_debias)
        apply = ema.apply([value])
        assert ema.average(value).name == "value/ExponentialMovingAverage:0"
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            got = []
            for v in VALUES:
                s.run(apply, {x: v})
                got.append(s.run(ema.average(value)))
    biased, want = 0.0, []
    for t, v in enumerate(VALUES, start=1):
        biased = 0.8 * biased + 0.2 * v
        want.append(biased / (1 - 0.8 ** t) if zero_debias else biased)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_bad_inputs_are_refused_naming_them():
    with tf.Graph().as_default():
        count = tf.Variable(3, name="count")
        w = tf.Variable(1.0, name="w")
        ema = tf.train.ExponentialMovingAverage(0.9)
        with pytest.raises(TypeError, match="'count:0' of dtype int32"):
            ema.apply([count])
        ema.apply([w])
        with pytest.raises(ValueError, match="already computed for: w:0"):
            ema.apply([w])


def test_a_randomly_initialised_variables_shadow_starts_at_its_value():
    with tf.Graph().as_default():
        v = tf.Variable(tf.random_normal([3], seed=1), name="v")
        ema = tf.train.ExponentialMovingAverage(0.9)
        ema.apply([v])
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            value, shadow = s.run([v, ema.average(v)])
    assert np.all(value != 0) and np.array_equal(value, shadow)
