"""The 1-D convolution and pooling, depthwise/separable convolution, cropping, activation, noise and
LayerNormalization layers against float64 NumPy references (Conv1D against an explicit loop), noise layers
the identity at predict with the right statistics in training, a fit per family, a save/load round trip,
and bad arguments named."""
import numpy as np
import pytest

import nnplug as tf
from nnplug import keras
from nnplug.testing.conformance_conv import ref_conv2d

L = keras.layers


def _model(layer, input_shape):
    m = keras.Sequential([L.InputLayer(input_shape=input_shape), layer])
    m.build()
    return m


def _conv1d_loop(x, w, b, stride, dilation, padding):
    """Explicit loop: out[n, t, o] = sum_k,c x[n, t*stride + k*dilation - left, c] * w[k, c, o] + b[o]."""
    n, steps, _ = x.shape
    k = w.shape[0]
    span = (k - 1) * dilation + 1
    if padding == "valid":
        left, out_len = 0, (steps - span) // stride + 1
    elif padding == "causal":
        left, out_len = span - 1, -(-steps // stride)
    else:
        out_len = -(-steps // stride)
        left = max((out_len - 1) * stride + span - steps, 0) // 2
    y = np.zeros((n, out_len, w.shape[2])) + b
    for t in range(out_len):
        for j in range(k):
            src = t * stride + j * dilation - left
            if 0 <= src < steps:
                y[:, t] += x[:, src] @ w[j]
    return y


@pytest.mark.parametrize("padding,stride,dilation", [("valid", 1, 1), ("valid", 2, 1), ("same", 2, 1),
                                                     ("causal", 1, 2), ("causal", 2, 3), ("same", 1, 2)])
def test_conv1d_matches_an_explicit_loop(padding, stride, dilation):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 11, 3)).astype(np.float32)
    layer = L.Conv1D(4, 3, strides=stride, padding=padding, dilation_rate=dilation)
    m = _model(layer, (11, 3))
    w, b = rng.normal(size=(3, 3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    layer.set_weights([w, b])
    want = _conv1d_loop(x.astype(np.float64), w.astype(np.float64), b, stride, dilation, padding)
    assert m.output_shape == (None,) + want.shape[1:]
    np.testing.assert_allclose(m.predict(x, verbose=0), want, rtol=1e-4, atol=1e-5)
    if padding == "causal":  # step t sees nothing after t
        later = x.copy()
        later[:, 6:] += 5.0
        got = m.predict(later, verbose=0)
        np.testing.assert_allclose(got[:, :-(-6 // stride)], want[:, :-(-6 // stride)], rtol=1e-4, atol=1e-5)


def test_conv1d_channels_first_and_pooling_1d():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 7, 3)).astype(np.float32)
    first = L.Conv1D(2, 2, data_format="channels_first", use_bias=False)
    m = _model(first, (3, 7))
    (w,) = first.get_weights()
    want = _conv1d_loop(x.astype(np.float64), w.astype(np.float64), 0.0, 1, 1, "valid")
    np.testing.assert_allclose(m.predict(x.transpose(0, 2, 1), verbose=0), want.transpose(0, 2, 1), rtol=1e-4,
                               atol=1e-5)
    windows = np.stack([x[:, i:i + 2] for i in range(0, 6, 2)], 1)  # valid, pool 2, stride 2
    same3 = [x[:, max(i - 1, 0):i + 2] for i in range(0, 7, 2)]  # same, pool 3, stride 2: pad 1 before
    cases = [(L.MaxPooling1D(), windows.max(2)), (L.AveragePooling1D(), windows.mean(2)),
             (L.AveragePooling1D(3, 2, padding="same"), np.stack([w_.mean(1) for w_ in same3], 1)),
             (L.GlobalMaxPooling1D(), x.max(1)), (L.GlobalAveragePooling1D(keepdims=True), x.mean(1, keepdims=True))]
    for layer, want in cases:
        got = _model(layer, (7, 3)).predict(x, verbose=0)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=layer.name)
    np.testing.assert_allclose(_model(L.GlobalMaxPooling1D(data_format="channels_first"), (3, 7))
                               .predict(x.transpose(0, 2, 1), verbose=0), x.max(1), rtol=1e-6)
    assert L.GlobalAveragePooling2D and L.GlobalMaxPooling2D  # the 2-D ones exist (tests/test_conv_keras.py)


def test_depthwise_and_separable_conv2d_against_per_channel_references():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 6, 5, 3)).astype(np.float32)
    depth = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2)
    m = _model(depth, (6, 5, 3))
    assert m.output_shape == (None, 6, 5, 6)
    dw, b = depth.get_weights()
    assert dw.shape == (3, 3, 3, 2) and b.shape == (6,)
    b = rng.normal(size=6).astype(np.float32)
    depth.set_weights([dw, b])
    per_channel = np.concatenate([ref_conv2d(x[..., c:c + 1], dw[:, :, c:c + 1, :], (1, 1), "SAME")
                                  for c in range(3)], -1)  # channel c*2 + m, as TF
    np.testing.assert_allclose(m.predict(x, verbose=0), per_channel + b, rtol=1e-4, atol=1e-5)
    sep = L.SeparableConv2D(4, (2, 3), strides=2, depth_multiplier=2, activation="relu")
    m2 = _model(sep, (6, 5, 3))
    dw2, pw, b2 = sep.get_weights()
    assert (dw2.shape, pw.shape, b2.shape) == ((2, 3, 3, 2), (1, 1, 6, 4), (4,))
    inner = np.concatenate([ref_conv2d(x[..., c:c + 1], dw2[:, :, c:c + 1, :], (2, 2), "VALID") for c in range(3)], -1)
    want = np.maximum(ref_conv2d(inner, pw, (1, 1), "VALID") + b2, 0)
    assert m2.output_shape == (None,) + want.shape[1:]
    np.testing.assert_allclose(m2.predict(x, verbose=0), want, rtol=1e-4, atol=1e-5)


def test_padding_cropping_repeat_and_permute():
    x = np.arange(2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3)
    img = np.arange(2 * 4 * 5 * 3, dtype=np.float32).reshape(2, 4, 5, 3)
    cases = [(L.UpSampling1D(3), (5, 3), x, x.repeat(3, axis=1)),
             (L.ZeroPadding1D((1, 2)), (5, 3), x, np.pad(x, ((0, 0), (1, 2), (0, 0)))),
             (L.Cropping1D((1, 2)), (5, 3), x, x[:, 1:3]),
             (L.Cropping2D(((1, 0), (2, 1))), (4, 5, 3), img, img[:, 1:, 2:4]),
             (L.Cropping2D(1, data_format="channels_first"), (4, 5, 3), img, img[:, :, 1:4, 1:2]),
             (L.Permute((2, 1)), (5, 3), x, x.transpose(0, 2, 1)),
             (L.RepeatVector(4), (3,), x[:, 0], np.repeat(x[:, None, 0], 4, axis=1))]
    for layer, shape, inp, want in cases:
        m = _model(layer, shape)
        assert m.output_shape == (None,) + want.shape[1:], layer.name
        np.testing.assert_array_equal(m.predict(inp, verbose=0), want, err_msg=layer.name)


def test_activation_layers_match_numpy():
    x = np.linspace(-3, 3, 24, dtype=np.float32).reshape(2, 4, 3)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(1, keepdims=True))
    cases = [(L.LeakyReLU(), np.where(x64 >= 0, x64, 0.3 * x64)), (L.ELU(0.5), np.where(x64 > 0, x64, 0.5 * np.expm1(x64))),
             (L.ELU(), np.where(x64 > 0, x64, np.expm1(x64))),
             (L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
              np.where(x64 >= 2.0, 2.0, np.where(x64 >= 0.5, x64, 0.1 * (x64 - 0.5)))),
             (L.ReLU(max_value=1.0), np.clip(x64, 0, 1)),
             (L.ThresholdedReLU(0.7), np.where(x64 > 0.7, x64, 0)), (L.Softmax(axis=1), e / e.sum(1, keepdims=True)),
             (L.PReLU(alpha_initializer=keras.initializers.Constant(0.25)), np.where(x64 >= 0, x64, 0.25 * x64))]
    for layer, want in cases:
        np.testing.assert_allclose(_model(layer, (4, 3)).predict(x, verbose=0), want, rtol=1e-5, atol=1e-6,
                                   err_msg=layer.name)
    assert L.LeakyReLU().name.startswith("leaky_re_lu_") and L.ELU().name.startswith("elu_")


def test_prelu_shared_axes_and_gradient():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 4, 2)).astype(np.float32)
    probe = rng.normal(size=x.shape)
    layer = L.PReLU(shared_axes=[1])
    alpha = np.array([[0.2, -0.5]], np.float32)
    with tf.Graph().as_default():
        xt = tf.placeholder(tf.float32, x.shape)
        y = layer(xt)
        assert tuple(layer.weights[0].shape) == (1, 2)
        d_alpha, d_x = tf.gradients(tf.reduce_sum(y * probe.astype(np.float32)), [layer.weights[0], xt])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(layer.weights[0].assign(alpha))
            got_y, got_da, got_dx = sess.run([y, d_alpha, d_x], {xt: x})
    x64, a = x.astype(np.float64), alpha.astype(np.float64)
    np.testing.assert_allclose(got_y, np.where(x64 >= 0, x64, a * x64), rtol=1e-6)
    np.testing.assert_allclose(got_da, (probe * np.minimum(x64, 0)).sum(axis=(0, 1), keepdims=True)[0], rtol=1e-5)
    np.testing.assert_allclose(got_dx, probe * np.where(x64 >= 0, 1.0, a), rtol=1e-5)


def test_layer_normalization_matches_numpy():
    rng = np.random.default_rng(4)
    x = rng.normal(2.0, 3.0, size=(3, 4, 5)).astype(np.float32)
    for axis in (-1, [1, 2]):
        layer = L.LayerNormalization(axis=axis, epsilon=1e-3)
        m = _model(layer, (4, 5))
        axes = (2,) if axis == -1 else (1, 2)
        shape = tuple(x.shape[a] for a in axes)
        gamma, beta = rng.normal(size=shape).astype(np.float32), rng.normal(size=shape).astype(np.float32)
        assert [w.shape for w in layer.get_weights()] == [shape, shape]
        layer.set_weights([gamma, beta])
        x64 = x.astype(np.float64)
        mean, var = x64.mean(axes, keepdims=True), x64.var(axes, keepdims=True)
        want = (x64 - mean) / np.sqrt(var + 1e-3) * gamma + beta
        np.testing.assert_allclose(m.predict(x, verbose=0), want, rtol=1e-4, atol=1e-4, err_msg=str(axis))
    plain = _model(L.LayerNormalization(center=False, scale=False), (4, 5))
    assert plain.count_params() == 0


def _train_pass(layer, x, seed=7):
    with tf.Graph().as_default():
        tf.set_random_seed(seed)
        y = layer(tf.constant(x), training=True)
        with tf.Session() as sess:
            return sess.run(y)


def test_noise_layers_identity_at_predict_and_their_statistics_in_training():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 50, 4)).astype(np.float32)
    for layer in (L.GaussianNoise(0.5), L.GaussianDropout(0.3), L.AlphaDropout(0.2), L.SpatialDropout1D(0.5)):
        np.testing.assert_array_equal(_model(layer, (50, 4)).predict(x[:3], verbose=0), x[:3], err_msg=layer.name)
    noise = _train_pass(L.GaussianNoise(0.5, seed=1), x) - x
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.5) < 0.01
    ratio = _train_pass(L.GaussianDropout(0.3, seed=1), np.ones_like(x))
    assert abs(ratio.mean() - 1) < 0.01 and abs(ratio.std() - np.sqrt(0.3 / 0.7)) < 0.01
    alpha = _train_pass(L.AlphaDropout(0.2, seed=1), x)
    assert abs(alpha.mean()) < 0.02 and abs(alpha.var() - 1) < 0.03  # standardised in, standardised out
    a = ((1 - 0.2) * (1 + 0.2 * (1.6732632423543772 * 1.0507009873554805) ** 2)) ** -0.5
    dropped_value = a * -1.6732632423543772 * 1.0507009873554805 * (1 - 0.2)
    assert abs(np.isclose(alpha, dropped_value, atol=1e-5).mean() - 0.2) < 0.01
    spatial = _train_pass(L.SpatialDropout1D(0.5, seed=1), np.ones_like(x))
    per_channel = spatial[:, :1]
    assert np.all(spatial == per_channel)  # one draw per sample and channel, the same at every step
    assert set(np.unique(per_channel)) == {0.0, 2.0} and abs((per_channel == 0).mean() - 0.5) < 0.06
    img = _train_pass(L.SpatialDropout2D(0.5, data_format="channels_first", seed=1), np.ones((50, 6, 3, 3), np.float32))
    assert np.all(img == img[:, :, :1, :1]) and abs((img[:, :, 0, 0] == 0).mean() - 0.5) < 0.1


def test_activity_regularization_adds_its_penalty():
    x = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    m = keras.Sequential([L.InputLayer(input_shape=(2,)), L.ActivityRegularization(l1=0.1, l2=0.01)])
    m.compile(optimizer="sgd", loss="mse")
    want = np.mean(x ** 2) + (0.1 * np.abs(x).sum() + 0.01 * (x ** 2).sum()) / 2
    np.testing.assert_allclose(m.evaluate(x, np.zeros_like(x), verbose=0), want, rtol=1e-5)
    assert m.layers[0].get_config()["l1"] == 0.1 and "activity_regularizer" not in m.layers[0].get_config()


@pytest.mark.parametrize("family", ["conv1d", "image", "activations", "noise"])
def test_fit_lowers_the_loss(family):
    rng = np.random.default_rng(6)
    if family in ("conv1d", "noise", "activations"):
        x = rng.normal(size=(64, 12, 2)).astype(np.float32)
        y = x[:, :, :1].mean(1) - x[:, :, 1:].max(1)
        layers = {"conv1d": [L.Conv1D(6, 3, padding="causal", activation="relu"), L.MaxPooling1D(),
                             L.Conv1D(4, 2, dilation_rate=2), L.GlobalAveragePooling1D()],
                  "activations": [L.Conv1D(6, 3), L.PReLU(), L.LeakyReLU(0.1), L.Flatten(), L.Dense(8), L.ELU(0.7),
                                  L.ReLU(6.0)],
                  "noise": [L.GaussianNoise(0.05), L.LayerNormalization(), L.SpatialDropout1D(0.1),
                            L.Conv1D(6, 3), L.GlobalMaxPooling1D(), L.GaussianDropout(0.1), L.AlphaDropout(0.05)]}[family]
        shape = (12, 2)
    else:
        x = rng.normal(size=(32, 6, 6, 2)).astype(np.float32)
        y = x[:, 1:5, 1:5, 0].mean((1, 2))[:, None]
        layers = [L.Cropping2D(1), L.DepthwiseConv2D(3, depth_multiplier=2), L.SeparableConv2D(4, 2), L.Flatten()]
        shape = (6, 6, 2)
    m = keras.Sequential([L.InputLayer(input_shape=shape)] + layers + [L.Dense(1)])
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    before = m.evaluate(x, y, verbose=0)
    m.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert m.evaluate(x, y, verbose=0) < 0.6 * before


@pytest.mark.parametrize("name", ["m.keras", "m.h5"])
def test_save_load_round_trip(tmp_path, name):
    x = np.random.default_rng(7).normal(size=(3, 10, 3)).astype(np.float32)
    m = keras.Sequential([L.InputLayer(input_shape=(10, 3)), L.Conv1D(4, 3, padding="causal", dilation_rate=2),
                          L.PReLU(shared_axes=[1]), L.LayerNormalization(), L.ZeroPadding1D(1), L.Cropping1D((0, 2)),
                          L.MaxPooling1D(2), L.UpSampling1D(2), L.LeakyReLU(0.2), L.SpatialDropout1D(0.2),
                          L.GaussianNoise(0.1), L.Permute((2, 1)), L.ReLU(3.0, 0.1, 0.2), L.Softmax(axis=1),
                          L.Reshape((4, 10, 1)), L.SeparableConv2D(2, 3, padding="same"), L.DepthwiseConv2D(2),
                          L.Cropping2D(((1, 0), (0, 1))), L.GlobalAveragePooling2D(), L.RepeatVector(2),
                          L.GlobalMaxPooling1D(), L.ThresholdedReLU(0.01), L.ELU(0.3), L.AlphaDropout(0.1),
                          L.GaussianDropout(0.1), L.ActivityRegularization(l2=0.01), L.Dense(2)])
    m.compile(optimizer=keras.optimizers.Adamax(), loss="mse")
    m.fit(x, np.zeros((3, 2), np.float32), epochs=1, verbose=0)
    m.save(tmp_path / name)
    loaded = keras.models.load_model(tmp_path / name)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    assert [type(a).__name__ for a in loaded.layers] == [type(a).__name__ for a in m.layers]
    assert loaded.layers[0].get_config()["padding"] == "causal"
    assert type(loaded.optimizer).__name__ == "Adamax"


def test_bad_arguments_name_the_layer_and_argument():
    bad = [(lambda: L.Conv1D(2, 3, padding="full", name="c"), ValueError, "Conv1D layer 'c': unknown padding 'full'"),
           (lambda: L.Conv1D(2, (3, 3), name="c"), ValueError, "Conv1D layer 'c': kernel_size must be a positive int"),
           (lambda: L.Conv1D(0, 3, name="c"), ValueError, "Conv1D layer 'c': filters"),
           (lambda: L.DepthwiseConv2D(3, depth_multiplier=0, name="d"), ValueError, "'d': depth_multiplier"),
           (lambda: L.SeparableConv2D(2, 3, strides=2, dilation_rate=2, name="s"), ValueError, "'s': strides > 1"),
           (lambda: L.MaxPooling1D(0, name="p"), ValueError, "MaxPooling1D layer 'p': pool_size"),
           (lambda: L.Cropping2D(((1, -1), (0, 0)), name="k"), ValueError, "Cropping2D layer 'k': cropping"),
           (lambda: L.ZeroPadding1D((1, 2, 3), name="z"), ValueError, "ZeroPadding1D layer 'z': padding"),
           (lambda: L.Permute((1, 3), name="q"), ValueError, "Permute layer 'q': dims must be a permutation"),
           (lambda: L.RepeatVector(0, name="r"), ValueError, "RepeatVector layer 'r': n"),
           (lambda: L.LeakyReLU(-1, name="l"), ValueError, "LeakyReLU layer 'l': alpha must be a finite number >= 0"),
           (lambda: L.ReLU(max_value=-1, name="u"), ValueError, "ReLU layer 'u': max_value"),
           (lambda: L.ThresholdedReLU(float("nan"), name="t"), ValueError, "ThresholdedReLU layer 't': theta"),
           (lambda: L.PReLU(shared_axes=[0], name="pr"), ValueError, "PReLU layer 'pr': shared_axes"),
           (lambda: L.GaussianNoise(-0.1, name="g"), ValueError, "GaussianNoise layer 'g': stddev"),
           (lambda: L.GaussianDropout(1.0, name="gd"), ValueError, "GaussianDropout layer 'gd': rate"),
           (lambda: L.SpatialDropout2D(0.5, data_format="nhwc", name="sd"), ValueError, "'sd': unknown data_format"),
           (lambda: L.LayerNormalization(epsilon=0, name="ln"), ValueError, "LayerNormalization layer 'ln': epsilon"),
           (lambda: L.ActivityRegularization(l1=-1, name="a"), ValueError, "ActivityRegularization layer 'a': l1")]
    for make, error, message in bad:
        with pytest.raises(error, match=message):
            make()
    shapes = [(L.Conv1D(2, 5, name="c5"), (3, 2), "Conv1D layer 'c5' on inputs of shape"),
              (L.Cropping1D((2, 2), name="k1"), (4, 2), "Cropping1D layer 'k1' crops away everything"),
              (L.Permute((2, 1), name="q2"), (3, 2, 1), "Permute layer 'q2': dims"),
              (L.LayerNormalization(axis=3, name="ln2"), (3, 2), "LayerNormalization layer 'ln2': axis 3"),
              (L.Conv1D(2, 2, name="c6"), (3, 2, 1), "Conv1D layer 'c6' needs inputs of rank 3")]
    for layer, shape, message in shapes:
        with pytest.raises(ValueError, match=message):
            _model(layer, shape)
