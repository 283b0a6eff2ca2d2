"""Keras convolution, pooling, normalisation and reshaping layers against float64 NumPy references: output
shapes and default names as Keras gives them, values with weights set by hand, BatchNormalization's moving
averages moved by fit (and only by fit), save/load round trips, and bad arguments named."""
import numpy as np
import pytest

from nnplug import keras
from nnplug.testing.conformance_conv import ref_conv2d, ref_pool

L = keras.layers


def _model(layer, input_shape):
    m = keras.Sequential([L.InputLayer(input_shape=input_shape), layer])
    m.build()
    return m


def test_conv2d_shapes_names_values_and_channels_first():
    rng = np.random.default_rng(0)
    layer = L.Conv2D(4, (3, 2), strides=2, padding="same", dilation_rate=1, activation="relu")
    assert layer.name.startswith("conv2d_")
    m = _model(layer, (7, 6, 3))
    assert m.output_shape == (None, 4, 3, 4)
    w, b = rng.normal(size=(3, 2, 3, 4)), rng.normal(size=4)
    layer.set_weights([w.astype(np.float32), b.astype(np.float32)])
    x = rng.normal(size=(2, 7, 6, 3)).astype(np.float32)
    want = np.maximum(ref_conv2d(x, w, (2, 2), "SAME") + b, 0)
    np.testing.assert_allclose(m.predict(x, verbose=0), want, rtol=1e-4, atol=1e-4)
    first = L.Conv2D(4, (3, 2), strides=2, padding="same", data_format="channels_first")
    m2 = _model(first, (3, 7, 6))
    assert m2.output_shape == (None, 4, 4, 3)
    first.set_weights([w.astype(np.float32), b.astype(np.float32)])
    got = m2.predict(x.transpose(0, 3, 1, 2), verbose=0)
    np.testing.assert_allclose(got, (ref_conv2d(x, w, (2, 2), "SAME") + b).transpose(0, 3, 1, 2), rtol=1e-4,
                               atol=1e-4)


def test_conv2d_transpose_size_and_adjoint():
    rng = np.random.default_rng(1)
    layer = L.Conv2DTranspose(2, 3, strides=2, use_bias=False)
    m = _model(layer, (5, 5, 3))
    assert m.output_shape == (None, 11, 11, 2)  # valid: 5*2 + max(3 - 2, 0)
    x = rng.normal(size=(2, 5, 5, 3)).astype(np.float32)
    (w,) = layer.get_weights()
    assert w.shape == (3, 3, 2, 3)
    y = m.predict(x, verbose=0)
    probe = rng.normal(size=y.shape)
    np.testing.assert_allclose(np.sum(ref_conv2d(probe, w, (2, 2), "VALID") * x), np.sum(probe * y), rtol=1e-4)


def test_pooling_and_global_pooling():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 7, 7, 3)).astype(np.float32)
    cases = [(L.MaxPooling2D(), (None, 3, 3, 3), ref_pool(x, (2, 2), (2, 2), "VALID", "max")),
             (L.AveragePooling2D(3, 2, padding="same"), (None, 4, 4, 3), ref_pool(x, (3, 3), (2, 2), "SAME", "avg")),
             (L.GlobalAveragePooling2D(), (None, 3), x.mean(axis=(1, 2))),
             (L.GlobalMaxPooling2D(keepdims=True), (None, 1, 1, 3), x.max(axis=(1, 2), keepdims=True))]
    for layer, shape, want in cases:
        m = _model(layer, (7, 7, 3))
        assert m.output_shape == shape, layer.name
        np.testing.assert_allclose(m.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6, err_msg=layer.name)
    assert cases[0][0].name.startswith("max_pooling2d_")


def test_reshape_zero_padding_and_up_sampling():
    x = np.arange(2 * 2 * 3 * 2, dtype=np.float32).reshape(2, 2, 3, 2)
    pad = _model(L.ZeroPadding2D(((1, 0), (2, 1))), (2, 3, 2))
    assert pad.output_shape == (None, 3, 6, 2)
    np.testing.assert_array_equal(pad.predict(x, verbose=0), np.pad(x, ((0, 0), (1, 0), (2, 1), (0, 0))))
    up = _model(L.UpSampling2D((2, 3)), (2, 3, 2))
    assert up.output_shape == (None, 4, 9, 2)
    np.testing.assert_array_equal(up.predict(x, verbose=0), x.repeat(2, axis=1).repeat(3, axis=2))
    rs = _model(L.Reshape((3, -1)), (2, 3, 2))
    assert rs.output_shape == (None, 3, 4)
    np.testing.assert_array_equal(rs.predict(x, verbose=0), x.reshape(2, 3, 4))


def test_batch_normalization_fit_moves_the_averages_and_predict_uses_them():
    rng = np.random.default_rng(3)
    x = rng.normal(3.0, 2.0, size=(16, 2, 2, 3)).astype(np.float32)
    bn = L.BatchNormalization(momentum=0.8, epsilon=1e-3)
    m = keras.Sequential([L.InputLayer(input_shape=(2, 2, 3)), bn, L.Flatten(), L.Dense(1)])
    m.compile(keras.optimizers.SGD(0.0), "mse")  # no learning: only the moving averages change
    m.build()
    assert [w.name for w in bn.weights] == [f"{bn.name}/{n}:0" for n in ("gamma", "beta", "moving_mean",
                                                                           "moving_variance")]
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    before = m.predict(x, verbose=0)
    m.evaluate(x, np.zeros((16, 1)), verbose=0)
    np.testing.assert_array_equal(bn.get_weights()[2], np.zeros(3))  # evaluate is an inference pass
    m.fit(x, np.zeros((16, 1)), batch_size=16, epochs=1, shuffle=False, verbose=0)
    gamma, beta, mean, var = bn.get_weights()
    batch_mean, batch_var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(mean, 0.2 * batch_mean, rtol=1e-5)
    np.testing.assert_allclose(var, 0.8 + 0.2 * batch_var, rtol=1e-5)
    inner = keras.Sequential([L.InputLayer(input_shape=(2, 2, 3)), bn])  # shares the trained layer
    np.testing.assert_allclose(inner.predict(x, verbose=0), (x - mean) / np.sqrt(var + 1e-3) * gamma + beta,
                               rtol=1e-4, atol=1e-5)
    assert not np.allclose(before, m.predict(x, verbose=0))


def test_save_and_load_keep_conv_models(tmp_path):
    pytest.importorskip("jsonschema")
    m = keras.Sequential([L.Conv2D(3, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
                          L.BatchNormalization(), L.MaxPooling2D(), L.ZeroPadding2D(1), L.UpSampling2D(),
                          L.Conv2DTranspose(2, 2, strides=2), L.AveragePooling2D(), L.GlobalMaxPooling2D(),
                          L.Reshape((2, 1)), L.Flatten(), L.Dense(2, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(4).normal(size=(8, 8, 8, 1)).astype(np.float32)
    m.fit(x, np.arange(8) % 2, epochs=1, verbose=0)
    path = tmp_path / "cnn.keras"
    m.save(path)
    back = keras.models.load_model(path)
    assert [type(a).__name__ for a in back.layers] == [type(a).__name__ for a in m.layers]
    np.testing.assert_allclose(back.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6)


def test_bad_arguments_name_the_layer():
    def raises(exc, fn, *words):
        with pytest.raises(exc) as info:
            fn()
        for w in words:
            assert w in str(info.value), str(info.value)
    raises(ValueError, lambda: L.Conv2D(2, 3, padding="full", name="c"), "layer 'c'", "padding")
    raises(ValueError, lambda: L.Conv2D(0, 3), "filters")
    raises(ValueError, lambda: L.Conv2D(2, 3, strides=0), "strides")
    raises(ValueError, lambda: L.MaxPooling2D(data_format="NHWC"), "data_format")
    raises(ValueError, lambda: _model(L.Conv2D(2, 5, name="big"), (4, 4, 1)), "Conv2D layer 'big'", "window of 5",
           "(None, 4, 4, 1)")
    raises(ValueError, lambda: _model(L.Conv2D(2, 3), (4, 4)), "rank 4")
    raises(ValueError, lambda: L.ZeroPadding2D(-1), "non-negative")
    raises(ValueError, lambda: _model(L.Reshape((5, 5)), (2, 3)), "cannot reshape")
    raises(ValueError, lambda: _model(L.BatchNormalization(axis=3), (2, 3)), "axis 3")
    raises(NotImplementedError, lambda: L.UpSampling2D(interpolation="bilinear"), "nearest")
