"""The chapter's low-level programs, unchanged but for `import nnplug as tf`, on every available backend:
z = w*x + b, the rank-3 reshape with column sums and means, and the OLS regression class whose costs must
match a float64 NumPy gradient-descent reference. The example scripts in examples/ are run too."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import nnplug as tf

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_linear_model_scalars_and_batch(backend):
    with tf.backend(backend):
        g = tf.Graph()
        with g.as_default():
            x = tf.placeholder(dtype=tf.float32, shape=(None), name='x')
            w = tf.Variable(2.0, name='weight')
            b = tf.Variable(0.7, name='bias')
            z = w * x + b
            init = tf.global_variables_initializer()
        with tf.Session(graph=g) as sess:
            sess.run(init)
            for t in [1.0, 0.6, -1.8]:
                got = sess.run(z, feed_dict={x: t})
                assert np.shape(got) == () and got == pytest.approx(2.0 * t + 0.7, rel=1e-6)
            got = sess.run(z, feed_dict={x: [1., 2., 3.]})
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [2.7, 4.7, 6.7], rtol=1e-6)


def test_reshape_column_sums_and_means(backend):
    with tf.backend(backend):
        g = tf.Graph()
        with g.as_default():
            x = tf.placeholder(dtype=tf.float32, shape=(None, 2, 3), name='input_x')
            x2 = tf.reshape(x, shape=(-1, 6), name='x2')
            xsum = tf.reduce_sum(x2, axis=0, name='col_sum')
            xmean = tf.reduce_mean(x2, axis=0, name='col_mean')
        assert x2.shape == (None, 6)
        with tf.Session(graph=g) as sess:
            x_array = np.arange(18).reshape(3, 2, 3)
            reshaped = sess.run(x2, feed_dict={x: x_array})
            sums = sess.run(xsum, feed_dict={x: x_array})
            means = sess.run(xmean, feed_dict={x: x_array})
    np.testing.assert_array_equal(reshaped, np.arange(18).reshape(3, 6))
    np.testing.assert_array_equal(sums, [18, 21, 24, 27, 30, 33])
    np.testing.assert_array_equal(means, [6, 7, 8, 9, 10, 11])


def numpy_ols_costs(X, y, learning_rate=0.01, epochs=10):
    """Full-batch gradient descent on mean((y - (w*x + b))^2) in float64; the cost of each epoch is
    computed before that epoch's update (as the chapter fetches it together with the update)."""
    x = X[:, 0].astype(np.float64)
    w = b = 0.0
    costs = []
    for _ in range(epochs):
        err = y - (w * x + b)
        costs.append(np.mean(err ** 2))
        w, b = w + learning_rate * np.mean(2 * err * x), b + learning_rate * np.mean(2 * err)
    return np.array(costs), w, b


@pytest.mark.parametrize("epochs", [10, 60])
def test_ols_regression_matches_numpy_reference(backend, epochs):
    ols = load_example("ols_regression")
    want, w, b = numpy_ols_costs(ols.X_TRAIN, ols.Y_TRAIN, 0.01, epochs)
    with tf.backend(backend):
        lrmodel = ols.TfLinreg(x_dim=ols.X_TRAIN.shape[1], learning_rate=0.01)
        sess = tf.Session(graph=lrmodel.g)
        costs = ols.train_linreg(sess, lrmodel, ols.X_TRAIN, ols.Y_TRAIN, num_epochs=epochs)
        pred = ols.predict_linreg(sess, lrmodel, ols.X_TRAIN)
        sess.close()
    np.testing.assert_allclose(np.array(costs, np.float64), want, rtol=1e-4)
    # the prediction uses the weights after the last update
    np.testing.assert_allclose(pred, w * ols.X_TRAIN[:, 0] + b, rtol=1e-4, atol=1e-5)
    assert pred.shape == (10,)


def test_ols_graph_prints_like_the_chapter():
    ols = load_example("ols_regression")
    model = ols.TfLinreg(x_dim=1)
    assert repr(model.X) == 'Tensor("x_input:0", shape=(?, 1), dtype=float32)'
    weight = [v for v in model.g.get_collection("variables") if v.name == "weight:0"][0]
    assert repr(weight) == "<nnplug.Variable 'weight:0' shape=(1,) dtype=float32>"
    assert repr(model.z_net) == 'Tensor("z_net:0", shape=(?,), dtype=float32)'
    assert model.mean_cost.name == "mean_cost:0" and model.mean_cost.shape == ()


def test_ols_example_script_writes_costs_and_plots(tmp_path, capsys):
    ols = load_example("ols_regression")
    costs = ols.main(["--epochs", "10", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    want, _, _ = numpy_ols_costs(ols.X_TRAIN, ols.Y_TRAIN)
    np.testing.assert_allclose(costs, want, rtol=1e-4)
    assert out.count("cost ") == 10
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "skipping the plots" in out
        return
    for name in ("ols_cost.png", "ols_fit.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_basics_example(capsys):
    basics = load_example("basics")
    results = basics.linear_model()
    assert [round(float(z), 5) for _, z in results[:3]] == [2.7, 1.9, -2.9]
    np.testing.assert_allclose(results[3][1], [2.7, 4.7, 6.7], rtol=1e-6)
    reshaped, sums, means = basics.reshape_and_reduce()
    np.testing.assert_array_equal(sums, np.arange(18).reshape(3, 6).sum(0))
    np.testing.assert_array_equal(means, np.arange(18).reshape(3, 6).mean(0))
    assert "Column Sums" in capsys.readouterr().out
