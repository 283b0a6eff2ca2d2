"""keras.preprocessing.image.ImageDataGenerator against hand-computed arrays and NumPy, and the generator
training loops (fit_generator, evaluate_generator, predict_generator, keras.utils.Sequence) against fit,
evaluate and predict on the same batches."""
import numpy as np
import pytest

from nnplug import keras

IDG = keras.preprocessing.image.ImageDataGenerator
L = keras.layers


def _image(h=4, w=5, c=2):
    return np.arange(h * w * c, dtype=np.float32).reshape(h, w, c)


# -- transforms ----------------------------------------------------------------------------
def test_flips_reverse_columns_and_rows():
    x, g = _image(), IDG()
    assert np.array_equal(g.apply_transform(x, {"flip_horizontal": True}), x[:, ::-1])
    assert np.array_equal(g.apply_transform(x, {"flip_vertical": True}), x[::-1])
    cf = IDG(data_format="channels_first")
    xc = np.moveaxis(x, -1, 0)
    assert np.array_equal(cf.apply_transform(xc, {"flip_horizontal": True}), xc[:, :, ::-1])


@pytest.mark.parametrize("mode, rows", [("nearest", [2, 3, 3, 3]), ("reflect", [2, 3, 3, 2]),
                                        ("wrap", [2, 3, 0, 1]), ("constant", [2, 3, None, None])])
def test_row_shift_fills_as_the_mode_says(mode, rows):
    # tx=2: output row r is input row r+2 (scipy.ndimage.affine_transform's map from output to source)
    x = _image()
    out = IDG(fill_mode=mode, cval=-7.0).apply_transform(x, {"tx": 2})
    for r, src in enumerate(rows):
        assert np.array_equal(out[r], np.full_like(x[0], -7.0) if src is None else x[src])


def test_column_shift_and_half_pixel_shift_interpolate_linearly():
    x = _image()
    g = IDG(fill_mode="nearest")
    assert np.array_equal(g.apply_transform(x, {"ty": -1}), x[:, [0, 0, 1, 2, 3]])
    half = g.apply_transform(x, {"ty": 0.5})
    expect = 0.5 * (x + x[:, [1, 2, 3, 4, 4]])
    assert np.allclose(half, expect)


def test_rotation_and_zoom_keep_a_constant_image_and_draws_stay_in_range():
    g = IDG(rotation_range=30, shear_range=10, zoom_range=0.2, width_shift_range=0.25, height_shift_range=2)
    x = np.full((6, 6, 3), 5.0, np.float32)
    p = g.get_random_transform(x.shape, seed=0)
    assert -30 <= p["theta"] <= 30 and 0.8 <= p["zx"] <= 1.2 and -1.5 <= p["ty"] <= 1.5 and -2 <= p["tx"] <= 2
    assert np.allclose(g.apply_transform(x, p), 5.0)


def test_seeded_random_transform_and_flow_are_deterministic():
    x = np.random.RandomState(0).rand(10, 6, 6, 1).astype(np.float32)
    g = IDG(rotation_range=40, zoom_range=0.3, horizontal_flip=True, width_shift_range=0.2)
    assert np.array_equal(g.random_transform(x[0], seed=5), g.random_transform(x[0], seed=5))
    a = [b for _, b in zip(range(4), g.flow(x, np.arange(10), batch_size=4, seed=3))]
    b = [b for _, b in zip(range(4), g.flow(x, np.arange(10), batch_size=4, seed=3))]
    c = next(g.flow(x, np.arange(10), batch_size=4, seed=4))
    for (xa, ya), (xb, yb) in zip(a, b):
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert not np.array_equal(a[0][0], c[0])
    assert [len(ya) for _, ya in a] == [4, 4, 2, 4]  # an epoch of 3 batches, then the next epoch
    assert sorted(np.concatenate([ya for _, ya in a[:3]])) == list(range(10))


# -- standardisation -----------------------------------------------------------------------
def test_rescale_then_featurewise_normalisation_match_numpy():
    x = np.random.RandomState(1).rand(12, 3, 4, 3).astype(np.float32) * 255
    g = IDG(featurewise_center=True, featurewise_std_normalization=True, rescale=0.5)
    g.fit(x)
    x64 = x.astype(np.float64)
    mean, std = x64.mean(axis=(0, 1, 2)), x64.std(axis=(0, 1, 2))
    assert np.allclose(g.mean.ravel(), mean, rtol=1e-5) and np.allclose(g.std.ravel(), std, rtol=1e-5)
    # Keras's order: rescale, then the statistics of the unscaled data
    assert np.allclose(g.standardize(x[0]), (x64[0] * 0.5 - mean) / (std + 1e-6), rtol=1e-5, atol=1e-5)
    (bx,) = [next(g.flow(x, batch_size=12, shuffle=False))]
    assert np.allclose(bx, (x64 * 0.5 - mean) / (std + 1e-6), rtol=1e-5, atol=1e-5)


def test_samplewise_normalisation_and_preprocessing_function():
    x = np.random.RandomState(2).rand(3, 4, 2).astype(np.float32)
    g = IDG(samplewise_center=True, samplewise_std_normalization=True, preprocessing_function=lambda a: a * 2 + 1)
    y = x.astype(np.float64) * 2 + 1
    assert np.allclose(g.standardize(x), (y - y.mean()) / (y.std() + 1e-6), rtol=1e-5, atol=1e-6)


def test_featurewise_without_fit_and_validation_split_subsets():
    with pytest.raises(RuntimeError, match="fit"):
        IDG(featurewise_center=True).standardize(_image())
    x, y = np.random.rand(10, 2, 2, 1), np.arange(10)
    g = IDG(validation_split=0.3)
    val = next(g.flow(x, y, batch_size=10, shuffle=False, subset="validation"))
    train = next(g.flow(x, y, batch_size=10, shuffle=False, subset="training"))
    assert list(val[1]) == [0, 1, 2] and list(train[1]) == list(range(3, 10))
    assert np.allclose(val[0], x[:3])


@pytest.mark.parametrize("kwargs, name", [({"fill_mode": "mirror"}, "fill_mode"), ({"zoom_range": -0.5}, "zoom_range"),
                                          ({"validation_split": 1.5}, "validation_split"),
                                          ({"rotation_range": -3}, "rotation_range"),
                                          ({"data_format": "nhwc"}, "data_format"),
                                          ({"width_shift_range": "a"}, "width_shift_range")])
def test_bad_generator_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        IDG(**kwargs)


def test_bad_flow_arguments_name_the_argument():
    g = IDG()
    with pytest.raises(ValueError, match="rank 4"):
        g.flow(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="y has 2"):
        g.flow(np.zeros((3, 4, 4, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="subset"):
        g.flow(np.zeros((3, 4, 4, 1)), subset="test")
    with pytest.raises(ValueError, match="batch_size"):
        g.flow(np.zeros((3, 4, 4, 1)), batch_size=0)


# -- generator training loops --------------------------------------------------------------
def _pair():
    def build():
        m = keras.Sequential([L.Flatten(input_shape=(3, 3, 1)), L.Dense(4, activation="tanh"),
                              L.Dense(2, activation="softmax")])
        m.compile(keras.optimizers.SGD(lr=0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return m
    a, b = build(), build()
    b.set_weights(a.get_weights())
    return a, b


def _data(n=14):
    r = np.random.RandomState(7)
    return r.rand(n, 3, 3, 1).astype(np.float32), r.randint(0, 2, n)


class Batches(keras.utils.Sequence):
    def __init__(self, x, y, bs):
        self.x, self.y, self.bs, self.epochs_ended = x, y, bs, 0

    def __len__(self):
        return (len(self.x) + self.bs - 1) // self.bs

    def __getitem__(self, i):
        return self.x[i * self.bs:(i + 1) * self.bs], self.y[i * self.bs:(i + 1) * self.bs]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_fit_generator_on_a_sequence_equals_fit_on_the_same_batches():
    x, y = _data()
    a, b = _pair()
    ha = a.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, validation_data=(x, y))
    seq = Batches(x, y, 4)
    hb = b.fit_generator(seq, epochs=3, shuffle=False, verbose=0, validation_data=seq, workers=2)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.allclose(wa, wb, rtol=1e-5, atol=1e-6)
    for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert hb.history[k] == pytest.approx(ha.history[k], rel=1e-5)
    assert seq.epochs_ended == 3 + 3  # after each training epoch and each validation pass


def test_fit_on_a_python_generator_reads_on_across_epochs_and_with_class_weight():
    x, y = _data(12)
    a, b = _pair()
    cw = {0: 1.0, 1: 3.0}
    a.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, class_weight=cw)

    def batches():
        while True:
            for i in range(0, 12, 4):
                yield x[i:i + 4], y[i:i + 4]
    b.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0, class_weight=cw)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.allclose(wa, wb, rtol=1e-5, atol=1e-6)


def test_evaluate_and_predict_generators_equal_the_array_calls():
    x, y = _data()
    m, _ = _pair()
    seq = Batches(x, y, 5)
    assert m.evaluate_generator(seq) == pytest.approx(m.evaluate(x, y, batch_size=5), rel=1e-6)
    assert m.evaluate(seq) == pytest.approx(m.evaluate(x, y), rel=1e-6)
    assert np.allclose(m.predict_generator(seq), m.predict(x), rtol=1e-6)
    assert np.allclose(m.predict(iter([x[:3], x[3:]]), steps=2), m.predict(x), rtol=1e-6)


def test_fit_generator_with_image_data_generator_trains():
    x, y = _data(16)
    m, _ = _pair()
    g = IDG(horizontal_flip=True, width_shift_range=0.2, fill_mode="reflect")
    h = m.fit_generator(g.flow(x, y, batch_size=8, seed=0), steps_per_epoch=2, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2 and all(np.isfinite(h.history["loss"]))


def test_generator_errors_name_the_step_and_the_argument():
    x, y = _data()
    m, _ = _pair()

    def wrong_shape():
        yield x[:4], y[:4]
        yield x[:4], y[:4]
        yield x[:4, :2], y[:4]
    with pytest.raises(ValueError, match=r"step 2.*shape \(4, 2, 3, 1\)"):
        m.fit_generator(wrong_shape(), steps_per_epoch=3, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch is required"):
        m.fit_generator(iter([(x, y)]), verbose=0)
    with pytest.raises(ValueError, match="ended at step 1 of 3"):
        m.fit_generator(iter([(x, y)]), steps_per_epoch=3, verbose=0)
    with pytest.raises(ValueError, match=r"step 0.*\(x, y\)"):
        m.fit_generator(iter([x]), steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch must be >= 1"):
        m.fit_generator(Batches(x, y, 4), steps_per_epoch=0, verbose=0)
    with pytest.raises(ValueError, match="y and sample_weight must be None"):
        m.fit(Batches(x, y, 4), y, verbose=0)
