"""Session.run: fetch nesting, feeds, plan caching, variables, seeds and the errors bad input gets."""
import collections

import numpy as np
import pytest

import nnplug as tf
import nnplug.session as session_mod
from nnplug.errors import FailedPreconditionError, InvalidArgumentError


@pytest.fixture
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def test_fetch_nesting_is_preserved(g):
    a, b = tf.constant(1.0), tf.constant([2, 3])
    init = tf.no_op()
    Pair = collections.namedtuple("Pair", "x y")
    with tf.Session() as s:
        out = s.run({"a": a, "rest": [b, (a, init)], "pair": Pair(a, [b])})
        assert out["a"] == 1.0
        assert isinstance(out["rest"], list) and isinstance(out["rest"][1], tuple)
        np.testing.assert_array_equal(out["rest"][0], [2, 3])
        assert out["rest"][1][0] == 1.0 and out["rest"][1][1] is None  # ops fetch as None
        assert isinstance(out["pair"], Pair) and out["pair"].x == 1.0
        np.testing.assert_array_equal(out["pair"].y[0], [2, 3])
        assert s.run(init) is None
        assert s.run("Const:0") == 1.0  # tensor names work too
        assert isinstance(s.run(a), np.floating) and isinstance(s.run(b), np.ndarray)


def test_feeds_accept_lists_scalars_and_cast(g):
    x = tf.placeholder(tf.float32, (None, 2), name="x")
    k = tf.placeholder(tf.int32, (), name="k")
    y = x * tf.cast(k, tf.float32)
    with tf.Session() as s:
        out = s.run(y, {x: [[1, 2], [3, 4]], k: 3})
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, [[3, 6], [9, 12]])
        out = s.run(y, {x: np.array([[0.5, 1.5]], np.float64), k: np.int64(2)})  # cast to the placeholder's dtype
        assert out.dtype == np.float32 and out.tolist() == [[1.0, 3.0]]
        out = s.run(y, {"x:0": [[1, 1]], "k:0": True})  # names as keys; bool -> int
        assert out.tolist() == [[1.0, 1.0]]


def test_plan_is_compiled_once_per_feed_signature(g, monkeypatch):
    calls = []
    real = session_mod.compile_plan

    def counting(*a, **kw):
        plan = real(*a, **kw)
        calls.append(plan)
        return plan

    monkeypatch.setattr(session_mod, "compile_plan", counting)
    x = tf.placeholder(tf.float32, (None, 3))
    y = tf.reduce_sum(x * 2.0, axis=1)
    z = tf.reduce_max(x)
    with tf.Session() as s:
        for i in range(5):
            np.testing.assert_allclose(s.run(y, {x: np.full((2, 3), i, np.float32)}), [6 * i, 6 * i])
        assert len(calls) == 1
        s.run(y, {x: np.ones((4, 3), np.float32)})  # a new batch size: a new plan
        assert len(calls) == 2
        s.run(y, {x: np.ones((2, 3), np.float32)})  # the first shape again: reused
        s.run([y], {x: np.ones((2, 3), np.float32)})  # the same tensors in a list: the same plan
        assert len(calls) == 2
        s.run([y, z], {x: np.ones((2, 3), np.float32)})  # other fetches: another plan
        assert len(calls) == 3
        assert s._plans[next(iter(s._plans))] is calls[0]


def test_plan_source_is_one_flat_function(g):
    x = tf.placeholder(tf.float32, (2,))
    y = tf.exp(x) + 1.0
    with tf.Session() as s:
        src = s.plan_for(y, {x: np.zeros(2, np.float32)}).source
    assert src.startswith("def plan_") and "Exp" in src and "Add" in src


def test_variables_initialise_assign_and_stay_per_session(g):
    v = tf.Variable([1.0, 2.0], name="v")
    w = tf.Variable(10.0, name="w")
    inc = v.assign_add([1.0, 1.0])
    with tf.Session() as s1, tf.Session() as s2:
        s1.run(tf.global_variables_initializer())
        s2.run(v.initializer)
        s1.run(inc)
        s1.run(inc)
        np.testing.assert_array_equal(s1.run(v), [3.0, 4.0])
        np.testing.assert_array_equal(s2.run(v), [1.0, 2.0])  # sessions do not share state
        s2.run(tf.assign(v, [5.0, 6.0]))
        np.testing.assert_array_equal(s2.run(tf.assign_sub(v, [1.0, 1.0])), [4.0, 5.0])
        with pytest.raises(FailedPreconditionError, match="'w:0'"):
            s2.run(w)
        s2.run(tf.variables_initializer([w]))
        assert s2.run(w) == 10.0
        w.load(7.0, s2)
        assert s2.run(w) == 7.0


def test_fetching_a_variable_and_its_update_in_one_run(g):
    v = tf.Variable(1.0)
    with tf.Session() as s:
        s.run(v.initializer)
        old, new = s.run([v, v.assign_add(1.0)])
        assert (old, new) == (1.0, 2.0)
        assert s.run(v) == 2.0


def test_fetched_arrays_do_not_alias_session_state(g):
    v = tf.Variable(np.zeros(3, np.float32))
    with tf.Session() as s:
        s.run(v.initializer)
        out = s.run(v)
        out[:] = 99
        np.testing.assert_array_equal(s.run(v), np.zeros(3))


def test_seeds_give_the_same_numbers_in_new_sessions():
    def draws():
        g = tf.Graph()
        with g.as_default():
            tf.set_random_seed(123)
            a = tf.random_normal((3,))
            b = tf.random_uniform((2,), seed=5)
            with tf.Session() as s:
                return s.run([a, b]), s.run([a, b])

    (first, second), (again, _) = draws(), draws()
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(first[0], second[0])  # the stream moves on within a session


def test_unseeded_random_ops_differ_between_sessions(g):
    r = tf.random_uniform((8,))
    with tf.Session() as s1, tf.Session() as s2:
        assert not np.array_equal(s1.run(r), s2.run(r))


# -- bad input -----------------------------------------------------------------------------------
def test_wrong_feed_shape_names_placeholder_and_shapes(g):
    x = tf.placeholder(tf.float32, (None, 2), name="x_input")
    with tf.Session() as s:
        with pytest.raises(ValueError) as e:
            s.run(x * 2.0, {x: np.zeros((3, 3))})
    msg = str(e.value)
    assert "'x_input:0'" in msg and "(3, 3)" in msg and "(?, 2)" in msg


def test_wrong_feed_dtype_names_placeholder(g):
    k = tf.placeholder(tf.int32, (2,), name="k")
    with tf.Session() as s:
        with pytest.raises(TypeError, match=r"'k:0'.*int32|int32.*'k:0'"):
            s.run(k + 1, {k: [1.5, 2.0]})
        with pytest.raises(TypeError, match="'k:0'"):
            s.run(k + 1, {k: ["a", "b"]})


def test_missing_feed_names_placeholder(g):
    x = tf.placeholder(tf.float32, (None, 2), name="x_input")
    with tf.Session() as s:
        with pytest.raises(InvalidArgumentError, match=r"placeholder tensor 'x_input'.*float32.*\(\?, 2\)"):
            s.run(x + 1.0)


def test_uninitialised_variable_is_named(g):
    w = tf.Variable(tf.zeros((1,)), name="weight")
    with tf.Session() as s:
        with pytest.raises(FailedPreconditionError, match=r"uninitialized.*'weight:0'"):
            s.run(w * 2.0)


def test_unknown_fetch_is_named(g):
    tf.constant(1.0, name="a")
    with tf.Session() as s:
        with pytest.raises(KeyError, match="nope"):
            s.run("nope:0")
        with pytest.raises(TypeError, match="cannot fetch 3"):
            s.run(3)
        with pytest.raises(ValueError, match="another graph"):
            other = tf.Graph()
            with other.as_default():
                s.run(tf.constant(2.0))


def test_feed_for_another_graph_is_rejected(g):
    other = tf.Graph()
    with other.as_default():
        p = tf.placeholder(tf.float32, ())
    with tf.Session() as s:
        with pytest.raises(ValueError, match="another graph"):
            s.run(tf.constant(1.0), {p: 1.0})


def test_run_time_shape_error_names_op_and_shapes(g):
    a = tf.placeholder(tf.float32, (None, 3), name="a")
    b = tf.placeholder(tf.float32, (None, 3), name="b")
    c = tf.add(a, b, name="sum")
    with tf.Session() as s:
        with pytest.raises(InvalidArgumentError, match=r"'sum'.*\(2, 3\).*\(4, 3\)"):
            s.run(c, {a: np.zeros((2, 3)), b: np.zeros((4, 3))})


def test_closed_session_refuses_to_run(g):
    s = tf.Session()
    s.close()
    with pytest.raises(RuntimeError, match="closed"):
        s.run(tf.constant(1.0))


def test_default_session_and_eval(g):
    x = tf.constant(4.0)
    with tf.Session():
        assert (x * 2.0).eval() == 8.0
    with pytest.raises(ValueError, match="no default session"):
        x.eval()


def test_backend_choice(g):
    assert tf.Session().backend.name == "numpy"
    with tf.backend("cpu"):
        assert tf.Session().backend.name == "numpy"
    with pytest.raises(Exception, match="unknown backend 'nosuch'.*numpy"):
        tf.Session(backend="nosuch")


def test_feeding_one_output_of_a_multi_output_op_keeps_the_fed_value():
    """TF1: a fed tensor's value replaces what its op would compute, while the op's other outputs are
    computed as usual (top_k's values fed, its indices computed)."""
    g = tf.Graph()
    with g.as_default():
        values, indices = tf.nn.top_k(tf.constant([[3.0, 1.0], [2.0, 5.0]]), k=1)
        doubled = values * 2.0
        with tf.Session() as sess:
            got_values, got_indices, got_doubled = sess.run(
                [values, indices, doubled], {values: np.array([[9.0], [7.0]], np.float32)})
    np.testing.assert_array_equal(got_values, [[9.0], [7.0]])
    np.testing.assert_array_equal(got_indices, [[0], [1]])  # argmax of each row, by hand
    np.testing.assert_array_equal(got_doubled, [[18.0], [14.0]])
