"""What TF1 programs in the wild lean on, checked against NumPy and TF1's documented behaviour: the
pieces a probe of classic TF1 programs (TensorFlow-Examples, the official tutorials) found missing or wrong."""
import numpy as np

import nnplug as tf


def _session():
    return tf.Session()


# -- tf.where: TF1's row selection and run-time-rank conditions ------------------------------------
def test_where_with_a_vector_condition_picks_rows():
    """TF1: a vector condition of the values' first dimension chooses whole rows."""
    tf.reset_default_graph()
    x, y = np.arange(12.0).reshape(3, 4), -np.arange(12.0).reshape(3, 4)
    out = tf.where([True, False, True], x, y)
    assert tuple(out.shape) == (3, 4)
    np.testing.assert_array_equal(_session().run(out), np.where(np.array([True, False, True])[:, None], x, y))


def test_where_on_a_shapeless_bool_placeholder_keeps_the_values_shape():
    """`is_training = tf.placeholder(tf.bool)` (no shape): the result keeps x's shape statically, and a
    scalar, a row vector or a full mask fed at run time each select as TF1 does; gradients follow."""
    tf.reset_default_graph()
    flag = tf.placeholder(tf.bool)
    x = tf.constant(np.arange(6.0).reshape(2, 3))
    y = tf.constant(np.full((2, 3), -1.0))
    out = tf.where(flag, x * 2.0, y * 3.0)
    assert tuple(out.shape) == (2, 3)
    vector = tf.where(flag, tf.constant([1.0, 2.0]), tf.constant([5.0, 6.0]))
    assert tuple(vector.shape) == (2,)
    grads = tf.gradients(tf.reduce_sum(out), [x, y])
    sess = _session()
    xv, yv = np.arange(6.0).reshape(2, 3) * 2.0, np.full((2, 3), -3.0)
    for fed, mask in ((True, np.ones((2, 3), bool)), ([False, True], np.array([[False] * 3, [True] * 3])),
                      (np.eye(2, 3, dtype=bool), np.eye(2, 3, dtype=bool))):
        got, (gx, gy) = sess.run([out, grads], {flag: fed})
        np.testing.assert_array_equal(got, np.where(mask, xv, yv))
        np.testing.assert_array_equal(gx, np.where(mask, 2.0, 0.0))
        np.testing.assert_array_equal(gy, np.where(mask, 0.0, 3.0))
    np.testing.assert_array_equal(sess.run(vector, {flag: False}), [5.0, 6.0])


def test_layers_after_batch_norm_and_dropout_with_a_training_placeholder():
    """DCGAN's pattern: dense -> batch_normalization(training=flag) -> reshape -> conv2d_transpose,
    with `flag` a shapeless bool placeholder, builds (the shapes stay known) and normalises by the batch."""
    tf.reset_default_graph()
    flag = tf.placeholder(tf.bool)
    x = tf.placeholder(tf.float32, [None, 4, 4, 3])
    bn = tf.layers.batch_normalization(x, training=flag)
    dropped = tf.layers.dropout(bn, rate=0.5, training=flag)
    assert tuple(bn.shape.as_list()) == (None, 4, 4, 3) and tuple(dropped.shape.as_list()) == (None, 4, 4, 3)
    up = tf.layers.conv2d_transpose(dropped, 2, 3, strides=2, padding="same")
    assert up.shape.as_list() == [None, 8, 8, 2]
    data = np.random.default_rng(0).normal(2.0, 3.0, (5, 4, 4, 3)).astype(np.float32)
    sess = _session()
    sess.run(tf.global_variables_initializer())
    got = sess.run(bn, {x: data, flag: True})
    mean, var = data.mean((0, 1, 2)), data.var((0, 1, 2))
    np.testing.assert_allclose(got, (data - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(sess.run(bn, {x: data, flag: False}), data / np.sqrt(1 + 1e-3), rtol=1e-5)


# -- Python operators TF1 tensors have ---------------------------------------------------------------
def test_mod_and_xor_operators_on_tensors_and_variables():
    """`t % 3` is floormod (the divisor's sign, as Python's %), `a ^ b` logical_xor; Variables too."""
    tf.reset_default_graph()
    x = np.array([-7.0, -1.5, 0.0, 4.0, 7.5])
    t, v = tf.constant(x), tf.Variable(x)
    a, b = tf.constant([True, True, False, False]), tf.constant([True, False, True, False])
    sess = _session()
    sess.run(tf.global_variables_initializer())
    got = sess.run([t % 3.0, 10.0 % tf.constant([3.0, -4.0]), v % -2.0, a ^ b, tf.constant(7) % 3])
    np.testing.assert_array_equal(got[0], np.mod(x, 3.0))
    np.testing.assert_array_equal(got[1], [1.0, -2.0])
    np.testing.assert_array_equal(got[2], np.mod(x, -2.0))
    np.testing.assert_array_equal(got[3], [False, True, True, False])
    assert got[4] == 1


# -- word2vec's sampled losses -------------------------------------------------------------------
def _log_uniform(k, n):
    return (np.log(k + 2.0) - np.log(k + 1.0)) / np.log(n + 1.0)


def _sampled_reference(w, b, labels, x, sampled, true_q, sampled_q, remove_hits):
    """TF1's _compute_sampled_logits in float64 NumPy: [batch, num_true + num_sampled] logits, targets."""
    true_logits = np.einsum("bd,btd->bt", x, w[labels]) + b[labels] - np.log(true_q)
    sampled_logits = x @ w[sampled].T + b[sampled] - np.log(sampled_q)
    if remove_hits:
        hits = (labels[:, :, None] == sampled[None, None, :]).any(1)
        sampled_logits = np.where(hits, -np.finfo(np.float32).max, sampled_logits)
    logits = np.concatenate([true_logits, sampled_logits], 1)
    targets = np.concatenate([np.full(true_logits.shape, 1.0 / labels.shape[1]), np.zeros(sampled_logits.shape)], 1)
    return logits, targets


def test_nce_and_sampled_softmax_losses_match_tf1s_formulas():
    tf.reset_default_graph()
    rng = np.random.default_rng(3)
    classes, dim = 12, 4
    w, b, x = rng.normal(size=(classes, dim)), rng.normal(size=classes), rng.normal(size=(3, dim))
    labels = np.array([[1, 5], [0, 2], [7, 3]])
    sampled = np.array([2, 9, 4])  # 2 is an accidental hit for the second row
    true_q, sampled_q = _log_uniform(labels, classes) * 3, _log_uniform(sampled, classes) * 3
    given = (tf.constant(sampled, tf.int64), tf.constant(true_q, tf.float32), tf.constant(sampled_q, tf.float32))
    wt, bt, xt = (tf.constant(v, tf.float32) for v in (w, b, x))
    nce = tf.nn.nce_loss(wt, bt, tf.constant(labels), xt, num_sampled=3, num_classes=classes, num_true=2,
                         sampled_values=given)
    ssm = tf.nn.sampled_softmax_loss(wt, bt, tf.constant(labels), xt, num_sampled=3, num_classes=classes,
                                     num_true=2, sampled_values=given)
    grad = tf.gradients(tf.reduce_sum(nce), wt)[0]
    got_nce, got_ssm, got_grad = _session().run([nce, ssm, grad])
    logits, targets = _sampled_reference(w, b, labels, x, sampled, true_q, sampled_q, remove_hits=False)
    ref_nce = (np.maximum(logits, 0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))).sum(1)
    np.testing.assert_allclose(got_nce, ref_nce, rtol=1e-5)
    logits, targets = _sampled_reference(w, b, labels, x, sampled, true_q, sampled_q, remove_hits=True)
    shifted = logits - logits.max(1, keepdims=True)
    ref_ssm = -(targets * (shifted - np.log(np.exp(shifted).sum(1, keepdims=True)))).sum(1)
    np.testing.assert_allclose(got_ssm, ref_ssm, rtol=1e-5)
    # only the rows of the true and sampled classes get a gradient
    touched = np.zeros(classes, bool)
    touched[np.concatenate([labels.ravel(), sampled])] = True
    assert np.all(got_grad[~touched] == 0) and np.all(np.abs(got_grad[touched]).sum(1) > 0)


def test_log_uniform_sampler_draws_zipf_and_reports_expected_counts():
    tf.reset_default_graph()
    tf.set_random_seed(7)
    true = tf.constant([[3], [0]], tf.int64)
    unique = tf.nn.log_uniform_candidate_sampler(true, 1, 6, True, 10)
    many = tf.nn.log_uniform_candidate_sampler(true, 1, 20000, False, 10)
    sess = _session()
    for _ in range(5):
        sampled, _, _ = sess.run(unique)
        assert len(set(sampled.tolist())) == 6 and sampled.min() >= 0 and sampled.max() < 10
    sampled, true_count, sampled_count = sess.run(many)
    p = _log_uniform(np.arange(10), 10)
    np.testing.assert_allclose(np.bincount(sampled, minlength=10) / 20000, p, atol=0.012)
    np.testing.assert_allclose(true_count.ravel(), p[[3, 0]] * 20000, rtol=1e-5)
    np.testing.assert_allclose(sampled_count, p[sampled] * 20000, rtol=1e-5)


# -- tf.contrib.legacy_seq2seq ---------------------------------------------------------------------
def _cross_entropy(logits, labels):
    shifted = logits - logits.max(1, keepdims=True)
    return np.log(np.exp(shifted).sum(1)) - shifted[np.arange(len(labels)), labels]


def test_legacy_sequence_losses_weight_and_average_per_example():
    tf.reset_default_graph()
    rng = np.random.default_rng(5)
    logits = [rng.normal(size=(3, 4)) for _ in range(2)]
    targets = [np.array([0, 3, 1]), np.array([2, 2, 0])]
    weights = [np.array([1.0, 0.5, 0.0]), np.array([1.0, 1.0, 0.0])]
    args = ([tf.constant(v, tf.float32) for v in logits], [tf.constant(v, tf.int32) for v in targets],
            [tf.constant(v, tf.float32) for v in weights])
    by_example = tf.contrib.legacy_seq2seq.sequence_loss_by_example(*args)
    summed = tf.contrib.legacy_seq2seq.sequence_loss_by_example(*args, average_across_timesteps=False)
    per_batch = tf.contrib.legacy_seq2seq.sequence_loss(*args)
    got = _session().run([by_example, summed, per_batch])
    total = sum(_cross_entropy(lg, t) * w for lg, t, w in zip(logits, targets, weights))
    np.testing.assert_allclose(got[1], total, rtol=1e-5)
    np.testing.assert_allclose(got[0], total / (weights[0] + weights[1] + 1e-12), rtol=1e-5)
    np.testing.assert_allclose(got[2], (total / (weights[0] + weights[1] + 1e-12)).sum() / 3, rtol=1e-5)


def test_rnn_decoder_shares_weights_and_feeds_back_with_a_loop_function():
    """rnn_decoder: one set of cell weights for every step; with loop_function the steps after the first
    read loop_function(previous output) instead of their inputs. basic_rnn_seq2seq: encoder and decoder
    each their own weights."""
    tf.reset_default_graph()
    legacy = tf.contrib.legacy_seq2seq
    cell = tf.nn.rnn_cell.BasicRNNCell(3)
    inputs = [tf.constant(np.full((2, 3), float(i + 1)), tf.float32) for i in range(3)]
    state0 = tf.zeros([2, 3])
    outputs, state = legacy.rnn_decoder(inputs, state0, cell, loop_function=lambda prev, i: prev * 2.0)
    assert len(tf.trainable_variables()) == 2
    sess = _session()
    sess.run(tf.global_variables_initializer())
    kernel, bias = sess.run(tf.trainable_variables())
    got, final = sess.run([outputs, state])
    h, expected, x = np.zeros((2, 3)), [], np.full((2, 3), 1.0)
    for _ in range(3):
        h = np.tanh(np.concatenate([x, h], 1) @ kernel + bias)
        expected.append(h)
        x = h * 2.0
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(final, expected[-1], rtol=1e-5, atol=1e-6)
    legacy.basic_rnn_seq2seq(inputs, inputs, tf.nn.rnn_cell.BasicRNNCell(3), scope="s2s")
    names = sorted(v.name for v in tf.trainable_variables() if v.name.startswith("s2s/"))
    assert len(names) == 4 and any("rnn_decoder" in n for n in names), names


# -- tf.contrib.layers' layer functions ------------------------------------------------------------
def test_contrib_fully_connected_names_values_regularizer_and_normalizer():
    tf.reset_default_graph()
    x = np.random.default_rng(1).normal(size=(2, 3, 4)).astype(np.float32)
    layers = tf.contrib.layers
    out = layers.fully_connected(tf.constant(x), 5, weights_regularizer=layers.l2_regularizer(0.5),
                                 biases_initializer=tf.constant_initializer(0.25))
    linear = layers.fully_connected(tf.constant(x[0]), 2, activation_fn=None,
                                    normalizer_fn=lambda t, scale: t * scale, normalizer_params={"scale": 3.0})
    names = [v.name for v in tf.global_variables()]
    assert names == ["fully_connected/weights:0", "fully_connected/biases:0", "fully_connected_1/weights:0"]
    assert out.shape.as_list() == [2, 3, 5]
    sess = _session()
    sess.run(tf.global_variables_initializer())
    w, w1 = sess.run([tf.global_variables()[0], tf.global_variables()[2]])
    got, got_linear, reg = sess.run([out, linear, tf.losses.get_regularization_loss()])
    np.testing.assert_allclose(got, np.maximum(x @ w + 0.25, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_linear, x[0] @ w1 * 3.0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reg, 0.5 * (w ** 2).sum() / 2, rtol=1e-5)
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1


def test_contrib_conv2d_pool_and_dropout_defaults():
    """conv2d: SAME, stride 1, ReLU, weights (kh, kw, in, out); max_pool2d: VALID, stride 2."""
    tf.reset_default_graph()
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 4, 4, 2)).astype(np.float32)
    conv = tf.contrib.layers.conv2d(tf.constant(x), 3, 3, biases_initializer=tf.constant_initializer(0.5))
    pooled = tf.contrib.layers.max_pool2d(conv, 2)
    kept = tf.contrib.layers.dropout(tf.ones([4000]), keep_prob=0.8)
    off = tf.contrib.layers.dropout(tf.ones([5]), keep_prob=0.8, is_training=False)
    assert [v.name for v in tf.global_variables()] == ["Conv/weights:0", "Conv/biases:0"]
    sess = _session()
    sess.run(tf.global_variables_initializer())
    w = sess.run(tf.global_variables()[0])
    got, got_pool, got_kept, got_off = sess.run([conv, pooled, kept, off])
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    ref = np.zeros((1, 4, 4, 3))
    for i in range(4):
        for j in range(4):
            ref[0, i, j] = np.tensordot(padded[0, i:i + 3, j:j + 3], w, axes=3)
    ref = np.maximum(ref + 0.5, 0)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_pool, ref.reshape(1, 2, 2, 2, 2, 3).max((2, 4)), rtol=1e-5, atol=1e-5)
    assert set(np.unique(got_kept)) <= {0.0, 1.25} and abs(got_kept.mean() - 1.0) < 0.06
    np.testing.assert_array_equal(got_off, np.ones(5))


# -- keras.backend ---------------------------------------------------------------------------------
def test_keras_backend_settings_clear_session_and_tensor_functions():
    from nnplug import keras
    from nnplug.keras import backend as K
    assert K.image_data_format() == "channels_last" and K.epsilon() == 1e-7 and K.floatx() == "float32"
    keras.layers.Dense(2)
    K.clear_session()
    assert keras.layers.Dense(2).name == "dense_1" and keras.layers.Dense(2).name == "dense_2"
    x = np.array([[1.0, -4.0], [9.0, 0.25]])
    t = tf.constant(x)
    assert K.int_shape(t) == (2, 2) and K.ndim(t) == 2
    got = _session().run([K.mean(K.square(t), axis=1), K.sum(t, keepdims=True), K.clip(t, 0.0, 2.0),
                          K.dot(t, t), K.argmax(t)])
    np.testing.assert_allclose(got[0], (x ** 2).mean(1))
    np.testing.assert_allclose(got[1], [[x.sum()]])
    np.testing.assert_allclose(got[2], np.clip(x, 0, 2))
    np.testing.assert_allclose(got[3], x @ x)
    np.testing.assert_array_equal(got[4], [0, 0])
    with np.testing.assert_raises(ValueError):
        K.set_image_data_format("nhwc")


def test_trace_diag_part_and_newaxis():
    tf.reset_default_graph()
    x = np.arange(18.0).reshape(2, 3, 3)
    got = _session().run([tf.trace(tf.constant(x)), tf.diag_part(tf.constant(x[0])),
                          tf.constant(x[0])[:, tf.newaxis]])
    np.testing.assert_allclose(got[0], np.trace(x, axis1=1, axis2=2))
    np.testing.assert_allclose(got[1], np.diag(x[0]))
    assert got[2].shape == (3, 1, 3)
