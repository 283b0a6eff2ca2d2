"""tf.data: datasets read through graph iterators, checked against hand-computed sequences."""
import collections

import numpy as np
import pytest

import nnplug as tf
from nnplug import data
from nnplug.data import Dataset, OutOfRangeError


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def read_all(element, session=None, limit=100):
    """Every element an iterator's get_next gives until OutOfRangeError (at most `limit`)."""
    out = []
    sess = session or tf.Session()
    for _ in range(limit):
        try:
            out.append(sess.run(element))
        except OutOfRangeError:
            return out
    raise AssertionError(f"no OutOfRangeError after {limit} elements")


def values(dataset):
    """A dataset's scalar elements, read through a one-shot iterator, as Python numbers."""
    return [v.item() for v in read_all(dataset.make_one_shot_iterator().get_next())]


# -- sources and element structure --------------------------------------------------------------
def test_from_tensor_slices_gives_rows_in_order_with_their_structure():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6, dtype=np.int64) * 10
    ds = Dataset.from_tensor_slices((x, y))
    assert ds.output_types == (tf.float32, tf.int64)
    assert ds.output_shapes == ((2,), ())
    xs, ys = ds.make_one_shot_iterator().get_next()
    assert xs.shape == (2,) and xs.dtype == tf.float32 and ys.dtype == tf.int64
    rows = read_all([xs, ys])
    assert len(rows) == 6
    for i, (a, b) in enumerate(rows):
        np.testing.assert_array_equal(a, x[i])
        assert b == 10 * i


def test_dict_elements_and_python_lists_follow_tf_rules():
    ds = Dataset.from_tensor_slices({"b": [[1, 2], [3, 4]], "a": [0.5, 1.5]})
    assert ds.output_types == {"b": tf.int32, "a": tf.float32}  # Python ints -> int32, floats -> float32
    assert ds.output_shapes == {"b": (2,), "a": ()}
    element = ds.make_one_shot_iterator().get_next()
    assert set(element) == {"a", "b"}
    got = read_all(element)
    assert [float(e["a"]) for e in got] == [0.5, 1.5]
    assert [e["b"].tolist() for e in got] == [[1, 2], [3, 4]]


def test_namedtuple_elements_keep_their_type():
    Pair = collections.namedtuple("Pair", "x y")
    ds = Dataset.from_tensor_slices(Pair(np.arange(3.0), np.arange(3)))
    element = ds.make_one_shot_iterator().get_next()
    assert isinstance(element, Pair)
    got = read_all(element)
    assert [(float(p.x), int(p.y)) for p in got] == [(0.0, 0), (1.0, 1), (2.0, 2)]


def test_range_from_tensors_zip_take_skip_concatenate():
    assert values(Dataset.range(4)) == [0, 1, 2, 3]
    assert values(Dataset.range(2, 11, 3)) == [2, 5, 8]
    assert Dataset.range(3).output_types == tf.int64
    (only,) = read_all(Dataset.from_tensors(np.ones((2, 3))).make_one_shot_iterator().get_next())
    assert only.shape == (2, 3)
    zipped = Dataset.zip((Dataset.range(5), Dataset.range(10, 13)))
    assert read_all(zipped.make_one_shot_iterator().get_next()) == [(0, 10), (1, 11), (2, 12)]
    assert values(Dataset.range(10).skip(3).take(4)) == [3, 4, 5, 6]
    assert values(Dataset.range(5).take(-1)) == [0, 1, 2, 3, 4]
    assert values(Dataset.range(5).skip(-1)) == []
    assert values(Dataset.range(2).concatenate(Dataset.range(5, 7))) == [0, 1, 5, 6]


# -- batch, repeat, shuffle ---------------------------------------------------------------------
def test_batch_keeps_or_drops_the_short_last_batch():
    kept = Dataset.range(10).batch(4)
    assert kept.output_shapes == (None,)
    assert [b.tolist() for b in read_all(kept.make_one_shot_iterator().get_next())] == \
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    dropped = Dataset.range(10).batch(4, drop_remainder=True)
    assert dropped.output_shapes == (4,)
    assert [b.tolist() for b in read_all(dropped.make_one_shot_iterator().get_next())] == \
        [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_a_graph_on_batches_of_changing_size_computes_each():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    batch = Dataset.from_tensor_slices(x).batch(4).make_one_shot_iterator().get_next()
    row_sums = tf.reduce_sum(batch * 2.0, axis=1)
    got = read_all(row_sums)
    expected = [2 * x[i:i + 4].sum(axis=1) for i in (0, 4, 8)]
    assert [g.shape for g in got] == [(4,), (4,), (2,)]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e)


def test_repeat_counts():
    assert values(Dataset.range(3).repeat(2)) == [0, 1, 2, 0, 1, 2]
    assert values(Dataset.range(3).repeat(0)) == []
    assert values(Dataset.range(3).repeat().take(7)) == [0, 1, 2, 0, 1, 2, 0]
    assert values(Dataset.range(3).repeat(-1).take(4)) == [0, 1, 2, 0]
    assert values(Dataset.range(0).repeat()) == []  # an empty dataset repeated forever is still empty
    assert [b.tolist() for b in read_all(Dataset.range(3).repeat(2).batch(4).make_one_shot_iterator().get_next())] \
        == [[0, 1, 2, 0], [1, 2]]


def test_shuffle_is_a_reproducible_permutation():
    ds = Dataset.range(50).shuffle(10, seed=7)
    first = values(ds)
    assert sorted(first) == list(range(50))
    assert first != list(range(50))
    assert values(ds) == first  # a new iterator over the same seeded dataset: the same order
    assert values(Dataset.range(50).shuffle(10, seed=7)) == first
    assert values(Dataset.range(50).shuffle(10, seed=8)) != first


def test_shuffle_draws_from_a_buffer_of_buffer_size():
    assert values(Dataset.range(20).shuffle(1, seed=3)) == list(range(20))  # a buffer of one: no shuffling
    for seed in range(5):
        order = values(Dataset.range(40).shuffle(5, seed=seed))
        # the k-th output is drawn from a buffer that has seen only inputs 0 .. k+4
        assert all(v <= k + 4 for k, v in enumerate(order))


def test_reshuffle_each_iteration_changes_the_order_of_each_repeat():
    again = values(Dataset.range(20).shuffle(20, seed=1).repeat(2))
    assert sorted(again[:20]) == sorted(again[20:]) == list(range(20))
    assert again[:20] != again[20:]
    same = values(Dataset.range(20).shuffle(20, seed=1, reshuffle_each_iteration=False).repeat(2))
    assert same[:20] == same[20:] and sorted(same[:20]) == list(range(20))


def test_graph_seed_makes_shuffle_reproducible():
    def order():
        tf.reset_default_graph()
        tf.set_random_seed(5)
        return values(Dataset.range(30).shuffle(30))
    assert order() == order()


# -- map and filter -----------------------------------------------------------------------------
def test_map_traces_nnplug_ops_once_and_runs_them_per_element():
    x = np.arange(6, dtype=np.float32)
    ds = Dataset.from_tensor_slices((x, x.astype(np.int32))).map(lambda a, b: {"sq": a * a, "b1": b + 1})
    assert ds.output_types == {"sq": tf.float32, "b1": tf.int32}
    got = read_all(ds.make_one_shot_iterator().get_next())
    assert [float(e["sq"]) for e in got] == [float(v * v) for v in x]
    assert [int(e["b1"]) for e in got] == list(range(1, 7))


def test_map_then_batch_and_filter():
    ds = Dataset.range(10).filter(lambda v: tf.less(v, 5)).map(lambda v: tf.cast(v, tf.float32) / 2.0).batch(2)
    assert ds.output_types == tf.float32
    assert [b.tolist() for b in read_all(ds.make_one_shot_iterator().get_next())] == [[0.0, 0.5], [1.0, 1.5], [2.0]]
    assert [v.tolist() for v in data.as_numpy(ds)] == [[0.0, 0.5], [1.0, 1.5], [2.0]]


def test_as_numpy_reads_on_the_host_for_keras():
    ds = Dataset.from_tensor_slices((np.arange(5.0), np.arange(5))).batch(2)
    batches = list(data.as_numpy(ds))
    assert [x.tolist() for x, _ in batches] == [[0.0, 1.0], [2.0, 3.0], [4.0]]
    assert [y.tolist() for _, y in batches] == [[0, 1], [2, 3], [4]]
    assert [v for v in data.as_numpy(Dataset.range(3))] == [0, 1, 2]


# -- iterator semantics -------------------------------------------------------------------------
def test_out_of_range_at_the_right_step():
    batch = Dataset.range(5).batch(2).make_one_shot_iterator().get_next()
    total = tf.reduce_sum(batch)
    with tf.Session() as sess:
        assert [sess.run(total) for _ in range(3)] == [1, 5, 4]
        with pytest.raises(OutOfRangeError, match="OneShotIterator"):
            sess.run(total)
        with pytest.raises(OutOfRangeError):  # and stays at its end
            sess.run(total)


def test_components_of_one_get_next_advance_together_once_per_run():
    x, y = Dataset.from_tensor_slices((np.arange(4), np.arange(4) * 10)).make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert sess.run([x, y, x + y]) == [0, 0, 0]
        a, b = sess.run([x, y])
        assert (a, b) == (1, 10)
        assert sess.run(x) == 2 and sess.run(y) == 30  # each run reads the next element


def test_two_sessions_each_start_at_the_beginning():
    it = Dataset.range(4).make_one_shot_iterator()
    nxt = it.get_next()
    s1, s2 = tf.Session(), tf.Session()
    assert [s1.run(nxt), s1.run(nxt)] == [0, 1]
    assert [s2.run(nxt)] == [0]
    assert [s1.run(nxt), s2.run(nxt)] == [2, 1]
    s1.close()
    s2.close()
    init_it = Dataset.range(3).make_initializable_iterator()
    nxt = init_it.get_next()
    s1, s2 = tf.Session(), tf.Session()
    s1.run(init_it.initializer)
    s2.run(init_it.initializer)
    assert [s1.run(nxt), s1.run(nxt), s2.run(nxt)] == [0, 1, 0]


def test_initializable_iterator_must_be_initialized_and_restarts():
    it = Dataset.range(3).make_initializable_iterator()
    nxt = it.get_next(name="next_value")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="iterator 'Iterator'.*next_value"):
            sess.run(nxt)
        sess.run(it.initializer)
        assert [sess.run(nxt), sess.run(nxt)] == [0, 1]
        sess.run(it.initializer)
        assert read_all(nxt, sess) == [0, 1, 2]


def test_from_structure_switches_between_datasets():
    train = Dataset.from_tensor_slices(np.arange(6, dtype=np.float32).reshape(3, 2)).batch(2)
    val = Dataset.from_tensor_slices(-np.ones((1, 2), np.float32)).batch(2)
    it = data.Iterator.from_structure(train.output_types, train.output_shapes)
    batch = it.get_next()
    assert batch.shape == (None, 2)
    use_train, use_val = it.make_initializer(train), it.make_initializer(val)
    with tf.Session() as sess:
        sess.run(use_train)
        assert sess.run(batch).tolist() == [[0, 1], [2, 3]]
        sess.run(use_val)
        assert [b.tolist() for b in read_all(batch, sess)] == [[[-1.0, -1.0]]]
        sess.run(use_train)
        assert sess.run(batch).tolist() == [[0, 1], [2, 3]]
    with pytest.raises(TypeError, match="Iterator"):
        it.make_initializer(Dataset.range(3))
    with pytest.raises(ValueError, match="has no initializer"):
        it.initializer  # noqa: B018


def test_linear_regression_trained_from_an_iterator_reaches_the_solution():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(64, 1)).astype(np.float32)
    y = 3.0 * x - 0.5  # exact: the least-squares solution is w = 3, b = -0.5
    ds = Dataset.from_tensor_slices((x, y)).shuffle(64, seed=1).batch(16).repeat()
    xb, yb = ds.make_one_shot_iterator().get_next()
    w = tf.Variable(np.zeros((1, 1), np.float32), name="w")
    b = tf.Variable(np.zeros((1,), np.float32), name="b")
    loss = tf.reduce_mean(tf.square(tf.matmul(xb, w) + b - yb))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(400):
            sess.run(train)
        np.testing.assert_allclose(sess.run(w), [[3.0]], atol=1e-3)
        np.testing.assert_allclose(sess.run(b), [-0.5], atol=1e-3)


def test_iterator_runs_on_every_backend(backend):
    x = np.arange(10, dtype=np.float32)
    batch = Dataset.from_tensor_slices(x).batch(4).make_one_shot_iterator().get_next()
    with tf.Session(backend=backend) as sess:
        assert [float(v) for v in read_all(tf.reduce_sum(batch), sess)] == [6.0, 22.0, 17.0]


# -- bad input ----------------------------------------------------------------------------------
def test_bad_datasets_are_named():
    with pytest.raises(ValueError, match=r"component 0: \(3,\), component 1: \(2,\)"):
        Dataset.from_tensor_slices((np.zeros(3), np.zeros(2)))
    with pytest.raises(ValueError, match="component 0 is a scalar"):
        Dataset.from_tensor_slices(1.0)
    with pytest.raises(TypeError, match="component 0"):
        Dataset.from_tensor_slices(["a", "b"])
    with pytest.raises(ValueError, match="'p:0' of unknown rank"):
        Dataset.from_tensor_slices(tf.placeholder(tf.float32, name="p"))
    fed = Dataset.from_tensor_slices(tf.placeholder(tf.float32, [3], name="q"))
    with pytest.raises(ValueError, match="'q:0'.*make_initializable_iterator"):
        fed.make_one_shot_iterator()
    with pytest.raises(ValueError, match="'q:0'.*make_initializable_iterator"):
        list(data.as_numpy(fed))
    with pytest.raises(ValueError, match="batch_size"):
        Dataset.range(3).batch(0)
    with pytest.raises(TypeError, match="scalar bool"):
        Dataset.range(3).filter(lambda v: v * 2)
    with pytest.raises(ValueError, match="creates variables"):
        Dataset.range(3).map(lambda v: v + tf.Variable(np.int64(1), name="inside"))


def test_ragged_elements_cannot_be_batched():
    ragged = Dataset.zip((Dataset.from_tensors(np.zeros(2)), Dataset.from_tensors(np.zeros(2)))) \
        .concatenate(Dataset.zip((Dataset.from_tensors(np.zeros(3)), Dataset.from_tensors(np.zeros(3)))))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"component 0 .* different shapes \(2,\), \(3,\)"):
        list(data.as_numpy(ragged.batch(2)))


# -- placeholders as sources, from_generator, padded_batch ----------------------------------------
def test_placeholders_feed_an_initializable_iterator_each_time_it_starts():
    """TF1's "consuming NumPy arrays" recipe: from_tensor_slices of placeholders, fed to the initializer."""
    features, labels = tf.placeholder(tf.float32, [None, 2]), tf.placeholder(tf.int64, [None])
    dataset = Dataset.from_tensor_slices((features, labels)).map(lambda f, l: (f * 2.0, l)).batch(2)
    assert dataset.output_shapes[0].as_list() == [None, 2]
    iterator = dataset.make_initializable_iterator()
    element = iterator.get_next()
    sess = tf.Session()
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    for scale in (1.0, -3.0):
        sess.run(iterator.initializer, {features: x * scale, labels: np.arange(5)})
        got = read_all(element, sess)
        np.testing.assert_array_equal(np.concatenate([f for f, _ in got]), x * scale * 2.0)
        assert [list(l) for _, l in got] == [[0, 1], [2, 3], [4]]
    sess.run(iterator.initializer, {features: x, labels: np.arange(4)})
    with pytest.raises(tf.errors.InvalidArgumentError, match="same first dimension.*the initializer read"):
        sess.run(element)


def test_from_generator_converts_checks_and_restarts():
    def gen(n):
        for i in range(1, n + 1):
            yield [i] * i, float(i)
    dataset = Dataset.from_generator(gen, (tf.int32, tf.float32), (tf.TensorShape([None]), ()), args=(3,))
    assert dataset.output_types == (tf.int32, tf.float32)
    got = list(data.as_numpy(dataset))
    assert [(list(a), float(b)) for a, b in got] == [([1], 1.0), ([2, 2], 2.0), ([3, 3, 3], 3.0)]
    assert got[0][0].dtype == np.int32 and got[0][1].dtype == np.float32
    assert len(list(data.as_numpy(dataset))) == 3  # a second pass calls the generator again
    wrong = Dataset.from_generator(lambda: iter([[1, 2]]), tf.int32, tf.TensorShape([3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"shape \(2,\).*declared \(3,\)"):
        list(data.as_numpy(wrong))


def test_padded_batch_pads_to_the_longest_or_the_given_shape():
    rows = [np.arange(1, n + 1, dtype=np.int64) for n in (1, 3, 2)]
    source = Dataset.from_generator(lambda: iter(rows), tf.int64, tf.TensorShape([None]))
    batches = list(data.as_numpy(source.padded_batch(2, padded_shapes=[None], padding_values=np.int64(-1))))
    assert [b.tolist() for b in batches] == [[[1, -1, -1], [1, 2, 3]], [[1, 2]]]
    fixed = list(data.as_numpy(source.padded_batch(3, padded_shapes=[4])))
    assert fixed[0].tolist() == [[1, 0, 0, 0], [1, 2, 3, 0], [1, 2, 0, 0]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="larger than the padded shape"):
        list(data.as_numpy(source.padded_batch(3, padded_shapes=[2])))
