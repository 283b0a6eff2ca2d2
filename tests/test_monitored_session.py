"""tf.train.MonitoredSession and its hooks, checked against hand-computed gradient descent: minimising
(w - 3)^2 with learning rate 0.1 from w = 1 gives w_n = 3 - 2 * 0.8^n and loss_n = 4 * 0.64^n."""
import os
import time

import numpy as np
import pytest

import nnplug as tf


def w_after(n):
    return 3.0 - 2.0 * 0.8 ** n


def loss_at(n):
    return (w_after(n) - 3.0) ** 2


def _model():
    gs = tf.train.get_or_create_global_step()
    w = tf.Variable(1.0, name="w")
    loss = tf.square(w - 3.0, name="loss")
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=gs)
    return gs, w, loss, train


def _loop(sess, train):
    runs = 0
    while not sess.should_stop():
        sess.run(train)
        runs += 1
    return runs


@pytest.fixture
def info_logging():
    old = tf.logging.get_verbosity()
    tf.logging.set_verbosity(tf.logging.INFO)
    yield
    tf.logging.set_verbosity(old)


def test_stop_at_step_stops_at_last_step_and_num_steps_counts_from_the_restored_step(tmp_path):
    for hook, start, runs in ((tf.train.StopAtStepHook(last_step=7), 0, 7),
                              (tf.train.StopAtStepHook(num_steps=3), 7, 3)):  # restored at the final step 7
        with tf.Graph().as_default():
            gs, w, _, train = _model()
            final = tf.train.FinalOpsHook([gs, w])
            with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_checkpoint_secs=None,
                                                   save_checkpoint_steps=1000, log_step_count_steps=None,
                                                   hooks=[hook, final]) as sess:
                assert sess.run(gs) == start
                assert _loop(sess, train) == runs
            assert final.final_ops_values[0] == start + runs
            np.testing.assert_allclose(final.final_ops_values[1], w_after(start + runs), rtol=1e-6)


def test_stop_at_step_needs_exactly_one_bound_and_a_global_step():
    with pytest.raises(ValueError, match="exactly one"):
        tf.train.StopAtStepHook()
    with pytest.raises(ValueError, match="exactly one"):
        tf.train.StopAtStepHook(num_steps=1, last_step=2)
    with tf.Graph().as_default():
        tf.Variable(1.0)
        with pytest.raises(RuntimeError, match="Global step should be created"):
            tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(last_step=1)])


def test_checkpoints_are_written_every_n_steps_and_at_the_end_and_restored_with_their_step(tmp_path):
    with tf.Graph().as_default():
        gs, w, _, train = _model()
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_checkpoint_steps=3,
                                               save_summaries_steps=None, log_step_count_steps=None,
                                               hooks=[tf.train.StopAtStepHook(last_step=7)]) as sess:
            _loop(sess, train)
    saved = sorted(int(f[len("model.ckpt-"):-4]) for f in os.listdir(tmp_path) if f.endswith(".npz"))
    assert saved == [0, 3, 6, 7]  # at creation, every 3 steps, and at the end
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-7")
    for step in (3, 7):
        with tf.Graph().as_default():
            gs, w, _, _ = _model()
            with tf.train.SingularMonitoredSession(
                    checkpoint_filename_with_path=os.path.join(tmp_path, f"model.ckpt-{step}")) as sess:
                assert sess.run(gs) == step
                np.testing.assert_allclose(sess.run(w), w_after(step), rtol=1e-6)
                assert isinstance(sess.raw_session(), tf.Session)


def test_checkpoint_saver_hook_with_its_own_saver_and_listener(tmp_path):
    events = []

    class Listener(tf.train.CheckpointSaverListener):
        def after_save(self, session, global_step_value):
            events.append(global_step_value)
            return global_step_value >= 4  # asks the loop to stop

    with tf.Graph().as_default():
        _, _, _, train = _model()
        saver = tf.train.Saver(max_to_keep=2)
        hook = tf.train.CheckpointSaverHook(str(tmp_path), save_steps=2, saver=saver, listeners=[Listener()])
        with tf.train.MonitoredSession(hooks=[hook]) as sess:
            assert _loop(sess, train) == 4
    assert events == [0, 2, 4]
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".npz")) == ["model.ckpt-2.npz", "model.ckpt-4.npz"]


def test_logging_tensor_hook_logs_every_n_iterations_and_with_a_formatter(capsys, info_logging):
    with tf.Graph().as_default():
        gs, _, loss, train = _model()
        hooks = [tf.train.StopAtStepHook(last_step=5),
                 tf.train.LoggingTensorHook({"loss": loss, "step": gs}, every_n_iter=2),
                 tf.train.LoggingTensorHook(["w:0"], every_n_iter=4,
                                            formatter=lambda v: f"w is {v['w:0']:.4f}")]
        with tf.train.MonitoredSession(hooks=hooks) as sess:
            _loop(sess, train)
    lines = [line for line in capsys.readouterr().err.splitlines() if "loss =" in line or "w is" in line]
    logged = [line.split("INFO:tensorflow:", 1)[1] for line in lines]
    # the tensors are fetched with the train op, so each line shows the values before that step
    pairs = [entry.split(" (")[0].split(", ") for entry in logged if entry.startswith("loss")]
    assert [p[1] for p in pairs] == [f"step = {i}" for i in (0, 2, 4)]
    np.testing.assert_allclose([float(p[0].removeprefix("loss = ")) for p in pairs], [loss_at(i) for i in (0, 2, 4)],
                               rtol=1e-6)
    assert "sec)" in logged[2]  # lines after the first give the time since the one before
    assert [entry for entry in logged if entry.startswith("w is")] == [f"w is {w_after(i):.4f}" for i in (0, 4)]


def test_logging_tensor_hook_at_end_only(capsys, info_logging):
    with tf.Graph().as_default():
        gs, _, _, train = _model()
        hooks = [tf.train.StopAtStepHook(last_step=3), tf.train.LoggingTensorHook({"step": gs}, at_end=True)]
        with tf.train.MonitoredSession(hooks=hooks) as sess:
            _loop(sess, train)
    assert [line for line in capsys.readouterr().err.splitlines() if "step =" in line] == \
        ["INFO:tensorflow:step = 3"]


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
def test_nan_tensor_hook_raises_on_a_nan_loss_or_stops():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [])
        loss = tf.log(x)
        with tf.train.MonitoredSession(hooks=[tf.train.NanTensorHook(loss)]) as sess:
            np.testing.assert_allclose(sess.run(loss, {x: np.e}), 1.0, rtol=1e-6)
            with pytest.raises(tf.train.NanLossDuringTrainingError, match="NaN loss during training"):
                sess.run(loss, {x: -1.0})
        with tf.train.MonitoredSession(hooks=[tf.train.NanTensorHook(loss, fail_on_nan_loss=False)]) as sess:
            sess.run(loss, {x: 2.0})
            assert not sess.should_stop()
            sess.run(loss, {x: -1.0})
            assert sess.should_stop()
            with pytest.raises(RuntimeError, match="after should_stop"):
                sess.run(loss, {x: 2.0})


def test_out_of_range_ends_the_loop_cleanly_and_hooks_end_runs():
    data = np.arange(5, dtype=np.float32)
    with tf.Graph().as_default():
        batch = tf.data.Dataset.from_tensor_slices(data).batch(2).make_one_shot_iterator().get_next()
        total = tf.Variable(0.0, name="total")
        add = total.assign_add(tf.reduce_sum(batch))
        final = tf.train.FinalOpsHook(total * 2.0)
        seen = []
        with tf.train.MonitoredSession(hooks=[final]) as sess:
            while not sess.should_stop():
                seen.append(sess.run(add))
        assert seen == [1.0, 6.0, 10.0]  # running sums of [0, 1], [2, 3], [4]
        assert final.final_ops_values == 20.0  # end() ran after the OutOfRangeError
        assert sess.should_stop()


def test_other_errors_propagate_out_of_the_with_block():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [])
        doubled = x * 2.0
        ended = []

        class End(tf.train.SessionRunHook):
            def end(self, session):
                ended.append(True)
        with pytest.raises(ZeroDivisionError), tf.train.MonitoredSession(hooks=[End()]) as sess:
            sess.run(doubled, {x: 1.0})
            raise ZeroDivisionError
        assert ended == []  # as TF1: end() is for sessions that end cleanly


def test_hook_protocol_order_fetches_and_feeds():
    calls = []

    class Recorder(tf.train.SessionRunHook):
        def __init__(self, tensor):
            self.tensor = tensor

        def begin(self):
            calls.append("begin")

        def after_create_session(self, session, coord):
            calls.append(("created", session.run(self.tensor)))
            assert isinstance(coord, tf.train.Coordinator)

        def before_run(self, run_context):
            calls.append(("before", run_context.original_args.fetches is not None))
            return tf.train.SessionRunArgs({"v": self.tensor})

        def after_run(self, run_context, run_values):
            calls.append(("after", run_values.results["v"]))
            if run_values.results["v"] >= 2:
                run_context.request_stop()

        def end(self, session):
            calls.append(("end", session.run(self.tensor)))

    with tf.Graph().as_default():
        v = tf.Variable(0, name="v")
        step = v.assign_add(1)
        x = tf.placeholder(tf.int32, [])
        doubled = x * 2
        feeds = iter([10, 20, 30])
        hooks = [Recorder(v), tf.train.FeedFnHook(lambda: {x: next(feeds)})]
        with tf.train.MonitoredSession(hooks=hooks) as sess:
            outs = []
            while not sess.should_stop():
                outs.append(sess.run([step, doubled]))
        assert [[int(a), int(b)] for a, b in outs] == [[1, 20], [2, 40], [3, 60]]
    # the hook's fetch runs with the step, so it may see the value before or after the update; nnplug reads
    # a variable fetched beside its update before the update, as TF1's usual order
    assert calls == ["begin", ("created", 0), ("before", True), ("after", 0), ("before", True), ("after", 1),
                     ("before", True), ("after", 2), ("end", 3)]


def test_a_tensor_fed_by_a_hook_and_the_caller_is_an_error():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [], name="x")
        tripled = x * 3.0
        with tf.train.MonitoredSession(hooks=[tf.train.FeedFnHook(lambda: {x: 1.0})]) as sess:
            with pytest.raises(RuntimeError, match="fed by a SessionRunHook and the caller: x:0"):
                sess.run(x, {x: 2.0})
            assert sess.run(tripled) == 3.0


def test_scaffold_init_fn_and_local_variables_and_a_second_session_on_the_finalized_graph():
    with tf.Graph().as_default():
        w = tf.Variable(1.0, name="w")
        counter = tf.Variable(5, name="counter", collections=[tf.GraphKeys.LOCAL_VARIABLES])
        scaffold = tf.train.Scaffold(init_fn=lambda scaffold, sess: w.load(7.0, sess))
        with tf.train.MonitoredSession(tf.train.ChiefSessionCreator(scaffold=scaffold)) as sess:
            assert sess.run([w, counter]) == [7.0, 5]
        copied = tf.train.Scaffold(copy_from_scaffold=scaffold)
        with tf.train.MonitoredSession(tf.train.ChiefSessionCreator(scaffold=copied)) as sess:
            assert sess.run(w) == 7.0 and copied.saver is scaffold.saver
        assert tf.get_default_graph().finalized
        with pytest.raises(RuntimeError, match="finalized"):
            tf.constant(1.0)
        with tf.train.MonitoredSession() as sess:  # the default Scaffold finds the init ops made before
            assert sess.run([w, counter]) == [1.0, 5]


def test_run_step_fn_runs_hooks_and_request_stop_ends_the_loop():
    with tf.Graph().as_default():
        gs, _, _, train = _model()
        hook = tf.train.StopAtStepHook(last_step=100)

        def step_fn(step_context):
            value = step_context.run_with_hooks(train)
            if step_context.session.run(gs) >= 3:
                step_context.request_stop()
            return value
        with tf.train.MonitoredSession(hooks=[hook]) as sess:
            while not sess.should_stop():
                sess.run_step_fn(step_fn)
            assert sess.should_stop()


def test_summaries_and_step_rate_are_written_for_tensorboard(tmp_path, capsys, info_logging):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    with tf.Graph().as_default():
        _, _, loss, train = _model()
        tf.summary.scalar("train_loss", loss)
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_summaries_steps=2,
                                               log_step_count_steps=2,
                                               hooks=[tf.train.StopAtStepHook(last_step=6)]) as sess:
            _loop(sess, train)
    tf.summary.FileWriterCache.clear()
    acc = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    losses = acc.Scalars("train_loss")
    # summaries run at steps 0, 2, 4 (before that step's update) and are written at the step after it
    assert [e.step for e in losses] == [1, 3, 5]
    np.testing.assert_allclose([e.value for e in losses], [loss_at(i) for i in (0, 2, 4)], rtol=1e-6)
    assert [e.step for e in acc.Scalars("global_step/sec")] == [3, 5]
    assert all(e.value > 0 for e in acc.Scalars("global_step/sec"))
    assert capsys.readouterr().err.count("global_step/sec: ") == 2


def test_global_step_helpers():
    with tf.Graph().as_default():
        assert tf.train.get_global_step() is None
        step = tf.Variable(4, name="global_step", trainable=False, dtype=tf.int64)  # the TF1 idiom
        assert tf.train.get_global_step() is step
        assert tf.train.get_or_create_global_step() is step
        with tf.Session() as sess:
            sess.run(step.initializer)
            assert tf.train.global_step(sess, step) == 4 and isinstance(tf.train.global_step(sess, step), int)
            assert tf.train.global_step(sess, "global_step:0") == 4
    with tf.Graph().as_default():
        tf.Variable(1.5, name="global_step")
        with pytest.raises(TypeError, match="integer scalar"):
            tf.train.get_global_step()


def test_version_strings_and_tf_test_answer_from_the_backends():
    from nnplug import plugins
    assert tf.VERSION == tf.__version__ and tf.GIT_VERSION.endswith(tf.__version__)
    rows = {row["name"]: row for row in plugins.describe_backends()}
    cuda = "cupy" in rows and rows["cupy"]["available"]
    assert tf.test.is_built_with_cuda() == cuda
    assert tf.test.is_gpu_available() == bool(cuda and rows["cupy"]["devices"])
    assert tf.test.gpu_device_name() == ("/device:GPU:0" if tf.test.is_gpu_available() else "")
    assert tf.test is not tf.testing


def test_supervisor_initialises_saves_restores_and_ends_on_out_of_range(tmp_path):
    with tf.Graph().as_default():
        gs, w, _, train = _model()
        sv = tf.train.Supervisor(logdir=str(tmp_path), save_model_secs=3600, summary_op=None)
        assert sv.global_step is gs and sv.summary_op is None
        with sv.managed_session() as sess:
            deadline = time.monotonic() + 30  # the checkpoint thread saves at once: wait for it before training
            while tf.train.latest_checkpoint(str(tmp_path)) is None and time.monotonic() < deadline:
                time.sleep(0.01)
            for _ in range(4):
                sess.run(train)
            sv.saver.save(sess, sv.save_path, global_step=gs)
            assert not sv.should_stop()
        assert sv.should_stop()
    # the checkpoint thread saved once at the start (step 0); the program saved step 4
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".npz")) == ["model.ckpt-0.npz", "model.ckpt-4.npz"]
    with tf.Graph().as_default():
        gs, w, _, train = _model()
        batch = tf.data.Dataset.from_tensor_slices(np.zeros(2, np.float32)).make_one_shot_iterator().get_next()
        sv = tf.train.Supervisor(logdir=str(tmp_path), save_model_secs=0)  # restores step 4; no thread
        runs = 0
        with sv.managed_session() as sess:
            assert sess.run(gs) == 4
            np.testing.assert_allclose(sess.run(w), w_after(4), rtol=1e-6)
            while not sv.should_stop():
                sess.run([train, batch])
                runs += 1
        assert runs == 2  # the third run's OutOfRangeError ended the block without an error


def test_supervisor_re_raises_other_errors_after_stopping():
    with tf.Graph().as_default():
        tf.Variable(1.0)
        sv = tf.train.Supervisor()
        with pytest.raises(ValueError, match="boom"), sv.managed_session():
            raise ValueError("boom")
        assert sv.should_stop()
