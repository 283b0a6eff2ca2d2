"""Lookup tables (tf.lookup, tf.contrib.lookup) against Python dicts: contents per session, the
initializers from tensors and text files, vocabularies with out-of-vocabulary buckets (TensorFlow's
documented ids), the errors, tables read inside Dataset.map, and a text pipeline that trains."""
import collections

import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from nnplug.lib.fingerprint import fingerprint64

VOCAB = {b"emerson": 0, b"lake": 1, b"palmer": 2}


def table_of(mapping, default=-1):
    keys, values = zip(*mapping.items())
    init = tf.lookup.KeyValueTensorInitializer(list(keys), tf.constant(list(values), tf.int64))
    return tf.lookup.StaticHashTable(init, default)


def test_static_hash_table_looks_up_as_a_dict_does():
    words = [b"lake", b"king", b"emerson", b"", b"palmer", b"lake"]
    with tf.Graph().as_default():
        table = table_of(VOCAB)
        keys = tf.placeholder(tf.string, (None,))
        found, size = table.lookup(keys), table.size()
        assert tf.get_collection(tf.GraphKeys.TABLE_INITIALIZERS) == [table.initializer]
        assert table.key_dtype == tf.string and table.value_dtype == tf.int64 and table.default_value == -1
        with tf.Session() as sess:
            sess.run(tf.tables_initializer())
            got, n = sess.run([found, size], {keys: words})
    assert got.dtype == np.int64 and got.tolist() == [VOCAB.get(w, -1) for w in words] and n == len(VOCAB)
    accents = {"café".encode(): 5, "naïve".encode(): 6, b"": 7}  # keys are bytes: UTF-8 and the empty string
    with tf.Graph().as_default():
        found = table_of(accents).lookup(tf.constant(["naïve", "", "cafe", "café"]))
        with tf.Session() as sess:
            sess.run(tf.tables_initializer())
            assert sess.run(found).tolist() == [6, 7, -1, 5]


def test_each_session_has_its_own_contents_and_needs_the_initializer():
    with tf.Graph().as_default():
        table = table_of(VOCAB)
        found = table.lookup(tf.constant(["palmer"]))
        with tf.Session() as sess:
            sess.run(tf.initialize_all_tables())
            sess.run(tf.tables_initializer())  # the same data again changes nothing
            assert sess.run(found).tolist() == [2]
        with tf.Session() as sess:
            with pytest.raises(FailedPreconditionError, match="Table 'hash_table' not initialized.*tables_initializer"):
                sess.run(found)


def test_integer_keys_string_values_and_sparse_keys():
    with tf.Graph().as_default():
        init = tf.lookup.KeyValueTensorInitializer(tf.constant([3, 1], tf.int64), ["three", "one"])
        table = tf.contrib.lookup.HashTable(init, "?")
        names = table.lookup(tf.constant([1, 2, 3], tf.int64))
        words = tf.string_split(["lake king", "palmer"])
        ids = table_of(VOCAB).lookup(words)
        assert isinstance(ids, tf.SparseTensor)
        with tf.Session() as sess:
            sess.run(tf.tables_initializer())
            got, sparse = sess.run([names, ids])
    assert got.tolist() == [b"one", b"?", b"three"]
    assert sparse.values.tolist() == [1, -1, 2] and sparse.indices.tolist() == [[0, 0], [0, 1], [1, 0]]


def test_vocabulary_tables_put_unknown_keys_in_tensorflows_buckets():
    with tf.Graph().as_default():
        init = tf.lookup.KeyValueTensorInitializer(list(VOCAB), tf.constant(list(VOCAB.values()), tf.int64))
        table = tf.lookup.StaticVocabularyTable(init, num_oov_buckets=5)
        ids = table.lookup(tf.constant(["emerson", "lake", "palmer", "king", "crimson"]))
        ints = tf.lookup.StaticVocabularyTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant([10, 20], tf.int64), tf.constant([0, 1], tf.int64)), 4)
        int_ids = ints.lookup(tf.constant([10, 7, 123], tf.int64))
        with tf.Session() as sess:
            sess.run(tf.tables_initializer())
            got, size, got_ints = sess.run([ids, table.size(), int_ids])
    assert got.tolist() == [0, 1, 2, 6, 7] and size == 8  # StaticVocabularyTable's documented example
    # integer keys hash by their decimal text
    assert got_ints.tolist() == [0, 2 + fingerprint64(b"7") % 4, 2 + fingerprint64(b"123") % 4] == [0, 2, 5]


def test_index_tables_from_tensors():
    with tf.Graph().as_default():
        plain = tf.contrib.lookup.index_table_from_tensor(["a", "b", "c"], default_value=-7)
        oov = tf.contrib.lookup.index_table_from_tensor(["a", "b"], num_oov_buckets=3)
        back = tf.contrib.lookup.index_to_string_table_from_tensor(["a", "b", "c"])
        keys = tf.constant(["c", "z", "a"])
        with tf.Session() as sess:
            sess.run(tf.tables_initializer())
            p, o, b = sess.run([plain.lookup(keys), oov.lookup(keys), back.lookup(tf.constant([2, 0, 9], tf.int64))])
    assert p.tolist() == [2, -7, 0] and b.tolist() == [b"c", b"a", b"UNK"]
    assert o.tolist() == [2 + fingerprint64(b"c") % 3, 2 + fingerprint64(b"z") % 3, 0]


def test_text_file_initializers(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("the\nquick\nbrown\nfox\n")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a\t1.5\nb\t-2\n")
    with tf.Graph().as_default():
        words = tf.contrib.lookup.index_table_from_file(str(vocab))
        short = tf.contrib.lookup.index_table_from_file(str(vocab), vocab_size=2, num_oov_buckets=1)
        names = tf.contrib.lookup.index_to_string_table_from_file(str(vocab), default_value="<unk>")
        floats = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            str(pairs), tf.string, 0, tf.float32, 1), -1.0)
        offset = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            str(vocab), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
            value_index_offset=10), -1)
        keys = tf.constant(["fox", "the", "dog"])
        with tf.Session() as sess:
            sess.run(tf.tables_initializer())
            got = sess.run([words.lookup(keys), short.lookup(keys), names.lookup(tf.constant([3, 4], tf.int64)),
                            floats.lookup(tf.constant(["b", "a", "c"])), offset.lookup(keys), short.size()])
    assert got[0].tolist() == [3, 0, -1] and got[1].tolist() == [2, 0, 2] and got[5] == 3
    assert got[2].tolist() == [b"fox", b"<unk>"] and got[3].tolist() == [-2.0, 1.5, -1.0]
    assert got[4].tolist() == [13, 10, -1]


def test_file_errors_name_the_file(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a\nb\n")
    with tf.Graph().as_default():
        missing = tf.contrib.lookup.index_table_from_file(str(tmp_path / "nope.txt"))
        too_big = tf.contrib.lookup.index_table_from_file(str(vocab), vocab_size=5)
        bad_number = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            str(vocab), tf.string, 0, tf.int64, 0), -1)
        with tf.Session() as sess:
            with pytest.raises(NotFoundError, match="nope.txt"):
                sess.run(missing.initializer)
            with pytest.raises(InvalidArgumentError, match="expected 5 lines, the file has 2"):
                sess.run(too_big.initializer)
            with pytest.raises(InvalidArgumentError, match="line 0 of .*vocab.txt: b'a' is not a valid int64"):
                sess.run(bad_number.initializer)


def test_table_errors():
    with tf.Graph().as_default():
        table = table_of(VOCAB)
        with pytest.raises(TypeError, match="has string keys; the keys 'Const_.*' are int32"):
            table.lookup(tf.constant([1, 2]))
        with pytest.raises(TypeError, match="has int64 values; default_value 'x' is not one"):
            table_of(VOCAB, default="x")
        with pytest.raises(TypeError, match="takes a table initializer"):
            tf.lookup.StaticHashTable({"a": 1}, -1)
        with pytest.raises(ValueError, match="num_oov_buckets must be a non-negative int"):
            tf.lookup.StaticVocabularyTable(table._initializer, -1)
        with pytest.raises(ValueError, match="3 keys but 2 values"):
            tf.lookup.KeyValueTensorInitializer(["a", "b", "c"], [1, 2])
        fed = tf.placeholder(tf.string, (None,))
        init = tf.lookup.KeyValueTensorInitializer(fed, tf.constant([1, 2], tf.int64))
        changing = tf.lookup.StaticHashTable(init, -1)
        with tf.Session() as sess:
            sess.run(changing.initializer, {fed: ["a", "b"]})
            with pytest.raises(FailedPreconditionError, match="already initialized with different data"):
                sess.run(changing.initializer, {fed: ["a", "c"]})


def test_a_table_read_inside_a_dataset_map(tmp_path):
    (tmp_path / "lines.txt").write_text("lake king\npalmer\n")
    with tf.Graph().as_default():
        table = table_of(VOCAB)
        ids = tf.data.TextLineDataset(str(tmp_path / "lines.txt")).map(
            lambda line: table.lookup(tf.string_split([line]).values))
        element = ids.make_one_shot_iterator().get_next()
        with tf.Session() as sess:
            sess.run(tf.tables_initializer())
            assert sess.run(element).tolist() == [1, -1]
            assert sess.run(element).tolist() == [2]


def test_text_pipeline_split_lookup_embed_and_train(backend):
    """split -> lookup -> embedding_lookup -> loss -> one SGD step: every row moves by the learning rate
    times how often its word occurred (the gradient of a sum of looked-up rows)."""
    lines = ["the cat sat", "the dog", "a cat the"]
    vocab = ["the", "cat", "dog"]
    with tf.Graph().as_default():
        text = tf.placeholder(tf.string, (None,))
        table = tf.contrib.lookup.index_table_from_tensor(vocab, num_oov_buckets=1)
        ids = table.lookup(tf.string_split(text).values)
        start = np.arange(8, dtype=np.float32).reshape(4, 2)
        emb = tf.Variable(start)
        loss = tf.reduce_sum(tf.nn.embedding_lookup(emb, ids))
        step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
        with tf.Session(backend=backend) as sess:
            sess.run([tf.global_variables_initializer(), tf.tables_initializer()])
            got_ids, got_loss, _ = sess.run([ids, loss, step], {text: lines})
            after = sess.run(emb)
    index = {w.encode(): i for i, w in enumerate(vocab)}
    want_ids = [index.get(w.encode(), 3) for line in lines for w in line.split()]  # one OOV bucket: id 3
    assert got_ids.tolist() == want_ids
    assert got_loss == pytest.approx(start[want_ids].sum())
    counts = collections.Counter(want_ids)
    expected = start - 0.5 * np.array([[counts[r]] * 2 for r in range(4)], np.float32)
    np.testing.assert_allclose(after, expected)


def test_monitored_sessions_initialize_tables():
    """TF1's Scaffold runs the table initializers with its local init op."""
    with tf.Graph().as_default():
        found = table_of(VOCAB).lookup(tf.constant(["lake", "king"]))
        with tf.train.MonitoredSession() as sess:
            assert sess.run(found).tolist() == [1, -1]
