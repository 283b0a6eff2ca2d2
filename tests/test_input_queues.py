"""TF1's queues and queue input pipelines against what TF1 documents: FIFO order, RandomShuffleQueue's
min_after_dequeue, PaddingFIFOQueue's padding, closing (OutOfRangeError for readers, CancelledError for
writers); the producers give every element once per epoch (in order without shuffle, a seeded permutation
with it) and raise OutOfRangeError after num_epochs (a local variable); batch/shuffle_batch give full
batches, then the short last one with allow_smaller_final_batch; queue runners run in real threads that a
Coordinator stops and joins; and a CIFAR-10-style pipeline (fixed-length binary records -> decode_raw ->
reshape -> shuffle_batch) trains a small model. Every test leaves no thread behind."""
import threading
import time

import numpy as np
import pytest

import nnplug as tf


@pytest.fixture(autouse=True)
def no_leftover_threads():
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not set(threading.enumerate()) - before, "threads left running"


def _drain(sess, fetches, coord=None, limit=1000):
    """Every value of `fetches` until OutOfRangeError (the end of the input)."""
    out = []
    with pytest.raises(tf.errors.OutOfRangeError):
        for _ in range(limit):
            out.append(sess.run(fetches))
    return out


def _run_pipeline(fetches, init_local=True):
    """Start the graph's queue runners, read `fetches` to the end, stop and join them."""
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        if init_local:
            sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        try:
            out = _drain(sess, fetches)
        finally:
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=5)
    return out


# -- queues --------------------------------------------------------------------------------------------
def test_fifo_queue_order_size_and_close():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(10, [tf.float32, tf.int64], shapes=[[2], []])
        x = tf.placeholder(tf.float32, [None, 2])
        y = tf.placeholder(tf.int64, [None])
        enqueue_many = q.enqueue_many([x, y])
        enqueue = q.enqueue([[9.0, 9.5], 9])
        a, b = q.dequeue()
        many = q.dequeue_many(2)
        up_to = q.dequeue_up_to(4)
        with tf.Session() as sess:
            sess.run(enqueue_many, {x: np.arange(8).reshape(4, 2), y: np.arange(4)})
            sess.run(enqueue)
            assert sess.run(q.size()) == 5
            np.testing.assert_array_equal(sess.run([a, b])[0], [0.0, 1.0])
            m = sess.run(many)
            np.testing.assert_array_equal(m[0], [[2, 3], [4, 5]])
            np.testing.assert_array_equal(m[1], [1, 2])
            assert not sess.run(q.is_closed())
            sess.run(q.close())
            assert sess.run(q.is_closed())
            with pytest.raises(tf.errors.CancelledError, match="closed"):
                sess.run(enqueue)
            short = sess.run(up_to)  # a closed queue gives its last elements as a shorter batch
            np.testing.assert_array_equal(short[1], [3, 9])
            with pytest.raises(tf.errors.OutOfRangeError, match="insufficient elements"):
                sess.run(up_to)
        assert many[0].shape.as_list() == [2, 2] and up_to[0].shape.as_list() == [None, 2]


def test_queues_are_per_session_and_check_shapes():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(3, tf.int32, shapes=[[2]])
        with pytest.raises(ValueError, match="component 0 has shape"):
            q.enqueue([[1, 2, 3]])
        p = tf.placeholder(tf.int32, [None])
        enq = q.enqueue(p)
        with tf.Session() as s1, tf.Session() as s2:
            s1.run(enq, {p: [1, 2]})
            assert s1.run(q.size()) == 1 and s2.run(q.size()) == 0
            with pytest.raises(tf.errors.InvalidArgumentError, match="component 0 has shape"):
                s1.run(enq, {p: [1, 2, 3]})


def test_named_components_give_dicts():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(4, [tf.int32, tf.float32], names=["label", "x"])
        enq = q.enqueue({"label": 3, "x": 0.5})
        out = q.dequeue()
        with tf.Session() as sess:
            sess.run(enq)
            assert sess.run(out) == {"label": 3, "x": 0.5}


def test_enqueue_waits_for_room_and_cancel_releases_it():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(2, tf.int32, shapes=[[]])
        enq = q.enqueue_many([[1, 2, 3]])  # one more than fits
        deq = q.dequeue()
        with tf.Session() as sess:
            errors = []
            t = threading.Thread(target=lambda: sess.run(enq))
            t.start()
            time.sleep(0.1)
            assert t.is_alive() and sess.run(q.size()) == 2  # waits with two in, as TF1's queue
            assert sess.run(deq) == 1
            t.join(5)
            assert not t.is_alive() and sess.run(q.size()) == 2

            def blocked():
                try:
                    sess.run(q.enqueue(7))
                except tf.errors.CancelledError as e:
                    errors.append(e)
            t = threading.Thread(target=blocked)
            t.start()
            time.sleep(0.05)
            sess.run(q.close(cancel_pending_enqueues=True))
            t.join(5)
            assert len(errors) == 1 and "cancel" in str(errors[0])
            assert [sess.run(deq), sess.run(deq)] == [2, 3]  # what was in stays readable


def test_random_shuffle_queue_keeps_min_after_dequeue_and_is_seeded():
    def drawn():
        with tf.Graph().as_default():
            q = tf.RandomShuffleQueue(20, 5, tf.int32, shapes=[[]], seed=7)
            enq = q.enqueue_many([np.arange(10, dtype=np.int32)])
            deq = q.dequeue_many(5)
            with tf.Session() as sess:
                sess.run(enq)
                first = sess.run(deq)  # 10 - 5 >= min_after_dequeue
                waiting = []
                t = threading.Thread(target=lambda: waiting.append(sess.run(q.dequeue())))
                t.start()
                time.sleep(0.1)
                assert t.is_alive() and sess.run(q.size()) == 5  # 5 - 1 < min_after_dequeue: it waits
                sess.run(q.close())  # closed: the rest drains
                t.join(5)
                rest = sess.run(q.dequeue_up_to(10))
        return list(first) + waiting + list(rest)
    a, b = drawn(), drawn()
    assert sorted(a) == list(range(10)) and a != list(range(10))
    assert a == b


def test_padding_fifo_queue_pads_to_the_longest():
    with tf.Graph().as_default():
        q = tf.PaddingFIFOQueue(5, [tf.int32, tf.string], shapes=[[None], []])
        p = tf.placeholder(tf.int32, [None])
        enq = q.enqueue([p, "s"])
        batch = q.dequeue_many(3)
        assert batch[0].shape.as_list() == [3, None]
        with tf.Session() as sess:
            for v in ([1], [2, 3, 4], [5, 6]):
                sess.run(enq, {p: v})
            values, strings = sess.run(batch)
        np.testing.assert_array_equal(values, [[1, 0, 0], [2, 3, 4], [5, 6, 0]])
        assert list(strings) == [b"s"] * 3


# -- producers -----------------------------------------------------------------------------------------
def test_slice_input_producer_in_order_then_out_of_range():
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    with tf.Graph().as_default():
        xi, yi = tf.train.slice_input_producer([x, np.arange(5)], num_epochs=2, shuffle=False)
        assert xi.shape.as_list() == [2] and yi.shape.as_list() == []
        got = _run_pipeline([xi, yi])
    assert [int(y) for _, y in got] == [0, 1, 2, 3, 4] * 2
    np.testing.assert_array_equal(np.stack([a for a, _ in got]), np.concatenate([x, x]))


def test_shuffled_producer_gives_each_element_once_per_epoch_and_repeats_with_a_seed():
    def epochs():
        with tf.Graph().as_default():
            tf.set_random_seed(3)
            q = tf.train.range_input_producer(8, num_epochs=3, shuffle=True)
            return [int(v) for v in _run_pipeline(q.dequeue())]
    a = epochs()
    assert len(a) == 24
    for e in range(3):
        assert sorted(a[8 * e: 8 * e + 8]) == list(range(8))
    assert a[:8] != list(range(8)) and a[:8] != a[8:16]
    assert a == epochs()


def test_num_epochs_needs_the_local_variables_initialized():
    with tf.Graph().as_default():
        q = tf.train.string_input_producer(["a", "b"], num_epochs=1)
        epochs = [v for v in tf.local_variables() if v.name.endswith("epochs:0")]
        assert len(epochs) == 1 and epochs[0] not in tf.global_variables()
        value = q.dequeue()
        with tf.Session() as sess:
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            with pytest.raises(tf.errors.FailedPreconditionError, match="epochs"):
                coord.join(threads, stop_grace_period_secs=5)
            coord.request_stop()  # the reader's dequeue would wait: close the queue as TF1 programs do
            sess.run(q.close())
            with pytest.raises(tf.errors.OutOfRangeError):
                sess.run(value)
    with pytest.raises(ValueError, match="non-null"):
        tf.train.string_input_producer([])


# -- batching ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("smaller", [True, False])
def test_batch_order_and_final_batch(smaller):
    with tf.Graph().as_default():
        (i,) = tf.train.slice_input_producer([np.arange(10)], num_epochs=1, shuffle=False)
        b = tf.train.batch([i], batch_size=4, allow_smaller_final_batch=smaller)
        assert b[0].shape.as_list() == [None if smaller else 4]
        got = [list(v[0]) for v in _run_pipeline(b)]
    full = [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert got == (full + [[8, 9]] if smaller else full)  # without it, the short rest is never returned


def test_batch_enqueue_many_dicts_and_threads():
    with tf.Graph().as_default():
        x = tf.constant(np.arange(12).reshape(6, 2))
        b = tf.train.batch({"x": x, "y": tf.range(6)}, batch_size=3, enqueue_many=True, capacity=6)
        assert set(b) == {"x", "y"} and b["x"].shape.as_list() == [3, 2]
        with tf.Session() as sess:
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            first, second = sess.run(b), sess.run(b)  # no num_epochs: the runner refills it forever
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=5)
        np.testing.assert_array_equal(first["x"], [[0, 1], [2, 3], [4, 5]])
        np.testing.assert_array_equal(second["y"], [3, 4, 5])
    with tf.Graph().as_default():
        (i,) = tf.train.slice_input_producer([np.arange(30)], num_epochs=1, shuffle=False)
        b = tf.train.batch([i], batch_size=5, num_threads=3)
        assert len(tf.get_collection(tf.GraphKeys.QUEUE_RUNNERS)[-1].enqueue_ops) == 3
        got = np.concatenate([v[0] for v in _run_pipeline(b)])
    assert sorted(got) == list(range(30))  # three threads: every element once, in some order


def test_batch_needs_fully_defined_shapes():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None])
        with pytest.raises(ValueError, match="fully defined"):
            tf.train.batch([p], 2)


def test_shuffle_batch_gives_each_element_once_per_epoch():
    """Elements of both epochs mix in the queue (as in TF1), so it is the totals that are exact; how they mix
    depends on the threads' timing, as in TF1."""
    with tf.Graph().as_default():
        (i,) = tf.train.slice_input_producer([np.arange(20)], num_epochs=2, shuffle=False)
        b = tf.train.shuffle_batch([i], batch_size=6, capacity=12, min_after_dequeue=4, seed=11,
                                   allow_smaller_final_batch=True)
        batches = [v[0] for v in _run_pipeline(b)]
    got = np.concatenate(batches)
    assert [len(v) for v in batches] == [6] * 6 + [4]
    assert sorted(got) == sorted(list(range(20)) * 2) and list(got[:20]) != list(range(20))


def test_batch_join_and_shuffle_batch_join_read_every_list():
    with tf.Graph().as_default():
        lists = [tf.train.slice_input_producer([np.arange(k, k + 5)], num_epochs=1, shuffle=False) for k in (0, 100)]
        b = tf.train.batch_join(lists, batch_size=2, allow_smaller_final_batch=True)
        assert len(tf.get_collection(tf.GraphKeys.QUEUE_RUNNERS)[-1].enqueue_ops) == 2
        got = np.concatenate([v[0] for v in _run_pipeline(b)])
    assert sorted(got) == list(range(5)) + list(range(100, 105))
    with tf.Graph().as_default():
        lists = [tf.train.slice_input_producer([np.arange(k, k + 5)], num_epochs=1, shuffle=False) for k in (0, 100)]
        b = tf.train.shuffle_batch_join(lists, batch_size=3, capacity=8, min_after_dequeue=2, seed=1,
                                        allow_smaller_final_batch=True)
        got = np.concatenate([v[0] for v in _run_pipeline(b)])
    assert sorted(got) == list(range(5)) + list(range(100, 105))


def test_queue_runner_without_coordinator_and_errors_reach_the_coordinator():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(4, tf.float32, shapes=[[]])
        p = tf.placeholder(tf.float32, [])
        qr = tf.train.QueueRunner(q, [q.enqueue(tf.constant(1.0))],
                                  queue_closed_exception_types=(tf.errors.OutOfRangeError, tf.errors.CancelledError))
        tf.train.add_queue_runner(qr)
        with tf.Session() as sess:
            threads = qr.create_threads(sess, start=True)
            assert qr.create_threads(sess) == []  # already running for this session
            assert sess.run(q.dequeue()) == 1.0
            sess.run(q.close(cancel_pending_enqueues=True))
            for t in threads:
                t.join(5)
            assert qr.exceptions_raised == []  # the cancelled enqueue counts as the queue closing
        bad = tf.train.QueueRunner(q, [q.enqueue(p)])  # needs a feed: every run fails
        with tf.Session() as sess:
            coord = tf.train.Coordinator()
            threads = bad.create_threads(sess, coord=coord, start=True)
            with pytest.raises(tf.errors.InvalidArgumentError, match="placeholder"):
                coord.join(threads, stop_grace_period_secs=5)
    with pytest.raises(ValueError, match="default session"):
        tf.train.start_queue_runners()


# -- a CIFAR-10-style pipeline -------------------------------------------------------------------------
def test_cifar10_style_pipeline_trains(tmp_path):
    """The CIFAR-10 tutorial's input: binary files of 1 label byte + 3x8x8 image bytes (depth major),
    read by a FixedLengthRecordReader from a string_input_producer, decoded, reshaped and shuffle-batched;
    a softmax classifier on them learns the label (here: whether the red channel is bright)."""
    rng = np.random.default_rng(0)
    files = []
    for k in range(2):
        labels = rng.integers(0, 2, 64).astype(np.uint8)
        images = rng.integers(0, 128, (64, 3, 8, 8)).astype(np.uint8)
        images[:, 0] += (labels * 120)[:, None, None].astype(np.uint8)
        path = tmp_path / f"data_batch_{k}.bin"
        path.write_bytes(b"".join(bytes([l]) + im.tobytes() for l, im in zip(labels, images)))
        files.append(str(path))
    record_bytes = 1 + 3 * 8 * 8
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        queue = tf.train.string_input_producer(files, num_epochs=4)
        _, value = tf.FixedLengthRecordReader(record_bytes=record_bytes).read(queue)
        record = tf.decode_raw(value, tf.uint8)
        label = tf.cast(tf.strided_slice(record, [0], [1]), tf.int32)
        depth_major = tf.reshape(tf.strided_slice(record, [1], [record_bytes]), [3, 8, 8])
        image = tf.cast(tf.transpose(depth_major, [1, 2, 0]), tf.float32) / 255.0
        image.set_shape([8, 8, 3])
        label.set_shape([1])
        images, labels = tf.train.shuffle_batch([image, label], batch_size=16, num_threads=2, capacity=64,
                                                min_after_dequeue=32)
        logits = tf.layers.dense(tf.reshape(images, [16, 192]), 2)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.reshape(labels, [16]),
                                                                               logits=logits))
        train = tf.train.GradientDescentOptimizer(1.0).minimize(loss)
        losses = _run_pipeline([loss, train])
    assert len(losses) == 4 * 128 // 16  # every record of every epoch, in full batches
    first, last = np.mean([v for v, _ in losses[:4]]), np.mean([v for v, _ in losses[-4:]])
    assert last < 0.5 * first, (first, last)


def test_monitored_training_session_starts_the_queue_runners_and_ends_with_the_input(tmp_path):
    """As in TF1, MonitoredTrainingSession starts the graph's queue runners and its loop ends cleanly when
    they run out (OutOfRangeError); Supervisor.managed_session starts them too."""
    with tf.Graph().as_default():
        x = np.arange(12, dtype=np.float32)
        row = tf.train.slice_input_producer([tf.constant(x)], shuffle=False, num_epochs=1)
        batch = tf.train.batch(row, batch_size=4)
        step = tf.assign_add(tf.train.get_or_create_global_step(), 1)
        seen = []
        with pytest.warns(UserWarning, match="no meta graph written"):  # queues are not saved in meta graphs
            with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path)) as sess:
                while not sess.should_stop():
                    seen.append(sess.run([batch, step])[0][0].tolist())
        tf.summary.FileWriterCache.clear()  # its summary writer (TF1 keeps it open in the cache)
    assert seen == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    with tf.Graph().as_default():
        row = tf.train.slice_input_producer([tf.constant(np.arange(6, dtype=np.float32))], shuffle=False)
        batch = tf.train.batch(row, batch_size=3)
        with tf.train.Supervisor(logdir=None).managed_session() as sess:
            assert sess.run(batch)[0].tolist() == [0, 1, 2]
