"""Algebraic simplification: rewritten ops run no kernel of their own and give the same values; rewrites
that would change a shape, a dtype or a result are not made."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.testing import available_backends

BACKENDS = [b for b in ("numpy", "opencl") if b in available_backends()]


def kernels_and_values(build, x, backend):
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.as_dtype(x.dtype), x.shape, name="x")
        out = build(p)
        with tf.Session(backend=backend) as sess:
            plan = sess.plan_for(out, {p: x})
            return [spec.op_type for _, spec in plan.kernels], sess.run(out, {p: x})


X = np.random.default_rng(0).uniform(-2, 2, (3, 4)).astype(np.float32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,build,ref", [
    ("x*1", lambda x: x * 1.0, lambda x: x),
    ("1*x", lambda x: tf.ones((3, 4)) * x, lambda x: x),
    ("x+0", lambda x: x + tf.zeros((4,)), lambda x: x),
    ("0+x", lambda x: 0.0 + x, lambda x: x),
    ("x-0", lambda x: x - 0.0, lambda x: x),
    ("x/1", lambda x: x / 1.0, lambda x: x),
    ("x**1", lambda x: tf.pow(x, 1.0), lambda x: x),
    ("--x", lambda x: -(-x), lambda x: x),
    ("transpose twice", lambda x: tf.transpose(tf.transpose(x)), lambda x: x),
])
def test_identities_run_no_kernel(backend, name, build, ref):
    kernels, got = kernels_and_values(lambda x: tf.tanh(build(x)), X, backend)
    assert kernels == ["Tanh"], f"{name}: plan runs {kernels}"
    np.testing.assert_allclose(got, np.tanh(ref(X.astype(np.float64))), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,build,ref", [
    ("x*1 broadcast up", lambda x: x * tf.ones((2, 3, 4)), lambda x: np.broadcast_to(x, (2, 3, 4))),
    ("x*2", lambda x: x * 2.0, lambda x: 2 * x),
    ("x*[1,1,1,2]", lambda x: x * tf.constant([1.0, 1.0, 1.0, 2.0]), lambda x: x * [1, 1, 1, 2]),
    ("1-x", lambda x: 1.0 - x, lambda x: 1 - x),
    ("0-x", lambda x: 0.0 - x, lambda x: -x),
    ("1/x", lambda x: 1.0 / x, lambda x: 1 / x),
])
def test_non_identities_keep_their_kernel(backend, name, build, ref):
    kernels, got = kernels_and_values(build, X, backend)
    assert kernels, f"{name}: the op was dropped"
    np.testing.assert_allclose(got, ref(X.astype(np.float64)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_transposes_that_do_not_cancel_are_kept(backend):
    x3 = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    kernels, got = kernels_and_values(lambda x: tf.transpose(tf.transpose(x, [1, 2, 0]), [1, 2, 0]) + 1.0, x3,
                                      backend)
    np.testing.assert_array_equal(got, x3.transpose(1, 2, 0).transpose(1, 2, 0) + 1)
    kernels, got = kernels_and_values(lambda x: tf.transpose(tf.transpose(x, [1, 2, 0]), [2, 0, 1]) + 1.0, x3,
                                      backend)
    assert "Transpose" not in kernels
    np.testing.assert_array_equal(got, x3 + 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_argmax_of_softmax_skips_the_softmax_along_its_axis_only(backend):
    logits = np.random.default_rng(1).standard_normal((6, 5)).astype(np.float32)
    kernels, got = kernels_and_values(lambda x: tf.argmax(tf.nn.softmax(x), axis=1), logits, backend)
    assert "Softmax" not in kernels
    np.testing.assert_array_equal(got, np.argmax(logits, axis=1))
    kernels, got = kernels_and_values(lambda x: tf.argmin(tf.nn.softmax(x), axis=1), logits, backend)
    np.testing.assert_array_equal(got, np.argmin(logits, axis=1))
    # along the other axis the softmax's normalisation matters: it must stay
    kernels, got = kernels_and_values(lambda x: tf.argmax(tf.nn.softmax(x), axis=0), logits, backend)
    assert "Softmax" in kernels
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_array_equal(got, np.argmax(e / e.sum(axis=1, keepdims=True), axis=0))


def test_keras_training_step_computes_accuracy_without_a_softmax():
    from nnplug import keras
    model = keras.models.Sequential([keras.layers.Dense(8, activation="tanh", input_shape=(5,)),
                                     keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(lr=0.1), metrics=["accuracy"])
    rng = np.random.default_rng(2)
    x = rng.standard_normal((32, 5)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 3, 32), 3)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    steps = [p for p in model._session._plans.values() if p.has_assign and "ArgMax" in p.source]
    assert steps and all("Softmax " not in p.source.replace("SoftmaxCrossEntropy", "") for p in steps)
    # the reported accuracy is still that of the softmax's arg max
    loss, acc = model.evaluate(x, y, verbose=0)
    probs = model.predict(x)
    assert acc == pytest.approx(np.mean(probs.argmax(1) == y.argmax(1)))
