"""Frozen graphs and GraphDef round trips as TF1 programs make them: `convert_variables_to_constants`,
`tf.train.write_graph`, `GraphDef.ParseFromString`, `tf.import_graph_def` with `input_map` and
`return_elements`; pruning (`extract_sub_graph`, `remove_training_nodes`); broken GraphDefs name the node."""
import json
import os

import numpy as np
import pytest

import nnplug as tf
from nnplug.graph_def import GraphDefError

RNG = np.random.default_rng(5)
XS = RNG.normal(size=(5, 3)).astype(np.float32)
W = RNG.normal(size=(3, 2)).astype(np.float32)
B = np.array([0.5, -0.25], np.float32)


def _model():
    """y = relu(x W + b) through an Identity and a CheckNumerics, its variables set to W and B."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 3), name="x")
        w = tf.Variable(tf.zeros((3, 2)), name="w")
        b = tf.Variable(tf.zeros(2), name="b")
        h = tf.identity(tf.matmul(x, w) + b, name="h")
        checked = tf.check_numerics(h, "bad h", name="checked")
        y = tf.nn.relu(checked, name="y")
        tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(y), name="train")
        sess = tf.Session(graph=g)
        sess.run(tf.global_variables_initializer())
        sess.load_variable(w, W)
        sess.load_variable(b, B)
    return g, sess


def _expected(xs=XS):
    return np.maximum(xs.astype(np.float64) @ W.astype(np.float64) + B, 0.0)


def _run_imported(graph_def, feeds, fetch="y:0", **kw):
    g = tf.Graph()
    with g.as_default():
        tf.import_graph_def(graph_def, name="", **kw)
        with tf.Session() as sess:
            return g, sess.run(fetch, feeds)


def test_a_frozen_graph_has_no_variables_and_gives_the_same_outputs(tmp_path):
    g, sess = _model()
    original = sess.run("y:0", {"x:0": XS})
    frozen = tf.graph_util.convert_variables_to_constants(sess, sess.graph_def, ["y"])
    ops = {n.name: n.op for n in frozen.node}
    assert ops["w"] == ops["b"] == "Const" and "VariableV2" not in ops.values()
    assert "train" not in ops and not any(name.startswith("gradients") for name in ops)  # only what y needs
    path = tf.train.write_graph(frozen, str(tmp_path / "new_folder"), "frozen.pb", as_text=False)
    assert path == os.path.join(str(tmp_path / "new_folder"), "frozen.pb")
    read = tf.GraphDef()
    with tf.gfile.GFile(path, "rb") as f:
        read.ParseFromString(f.read())
    g2, out = _run_imported(read, {"x:0": XS})  # no initializer run: constants need none
    assert tf.global_variables() == [] and not [o for o in g2.get_operations() if o.type == "VariableV2"]
    np.testing.assert_array_equal(out, original)
    np.testing.assert_allclose(out, _expected(), rtol=1e-5, atol=1e-6)


def test_whitelist_and_blacklist_choose_the_variables_frozen():
    g, sess = _model()
    only_w = tf.graph_util.convert_variables_to_constants(sess, g.as_graph_def(), ["y"], variable_names_whitelist=["w"])
    assert {n.name: n.op for n in only_w.node}["b"] == "VariableV2"
    not_w = tf.graph_util.convert_variables_to_constants(sess, g.as_graph_def(), ["y"], variable_names_blacklist=["w"])
    assert {n.name: n.op for n in not_w.node}["w"] == "VariableV2"
    assert {n.name: n.op for n in not_w.node}["b"] == "Const"


def test_freezing_refuses_uninitialized_variables_and_ops_that_write_them():
    g, sess = _model()
    with pytest.raises(ValueError, match="op 'w/Assign' \\(Assign\\) names variable 'w'"):
        tf.graph_util.convert_variables_to_constants(sess, g.as_graph_def(), ["w/Assign"])
    g2 = tf.Graph()
    with g2.as_default():
        v = tf.Variable(1.0, name="v")
        tf.multiply(v, 2.0, name="out")
    with pytest.raises(ValueError, match="variable 'v' is not initialized"):
        tf.graph_util.convert_variables_to_constants(tf.Session(graph=g2), g2.as_graph_def(), ["out"])


def test_text_and_binary_forms_round_trip(tmp_path):
    g, sess = _model()
    graph_def = g.as_graph_def()
    text_path = tf.train.write_graph(g, str(tmp_path), "graph.pbtxt")  # as_text=True, from the Graph itself
    text = open(text_path, "rb").read()
    assert text.count(b"\n") > len(graph_def.node)  # one field a line, for people
    parsed = tf.GraphDef()
    assert parsed.ParseFromString(text) == len(text)
    assert parsed == graph_def
    again = tf.GraphDef()
    again.ParseFromString(graph_def.SerializeToString())
    assert [(n.name, n.op, n.input) for n in again.node] == [(n.name, n.op, n.input) for n in graph_def.node]
    node = {n.name: n for n in graph_def.node}
    assert node["y"].input == ["checked"] and node["add"].input == ["MatMul", "b"]
    assert node["train"].input[0].startswith("^")  # control inputs as TF1 writes them
    node["y"].device = "/cpu:0"
    moved = tf.GraphDef()
    moved.ParseFromString(graph_def.SerializeToString())
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(moved, name="")
        assert g2.get_operation_by_name("y").device == "/device:CPU:0"
        assert g2.get_operation_by_name("h").device == ""


def test_input_map_replaces_a_placeholder_and_return_elements_give_tensors_and_ops():
    g, sess = _model()
    frozen = tf.graph_util.convert_variables_to_constants(sess, g.as_graph_def(), ["y"])
    g2 = tf.Graph()
    with g2.as_default():
        fed = tf.placeholder(tf.float32, (None, 3), name="batch")
        doubled = fed * 2.0
        y, y_op = tf.import_graph_def(frozen, input_map={"x": doubled}, return_elements=["y:0", "y"])
        assert y.name == "import/y:0" and y_op is y.op
        second, = tf.import_graph_def(frozen, input_map={"x:0": doubled}, return_elements=["y:0"])
        assert second.name == "import_1/y:0"
        with tf.Session() as s:
            out = s.run(y, {fed: XS})
        np.testing.assert_allclose(out, _expected(2 * XS), rtol=1e-5, atol=1e-6)
        assert tf.import_graph_def(frozen, name="scope") is None
        with pytest.raises(ValueError, match="not found in graph_def: \\[nowhere:0\\]"):
            tf.import_graph_def(frozen, input_map={"nowhere:0": fed})
        with pytest.raises(GraphDefError, match="op 'import_3/x': input_map gives tensor 'ints:0' of dtype int32 for 'import_3/x:0' of dtype float32"):
            tf.import_graph_def(frozen, input_map={"x:0": tf.zeros((2, 3), tf.int32, name="ints")})
        count = len(g2.get_operations())
        with pytest.raises(ValueError, match="return_element 'ghost:0' not found"):
            tf.import_graph_def(frozen, return_elements=["ghost:0"])
        assert len(g2.get_operations()) == count  # the import is undone
        tf.import_graph_def(frozen, name="")
        ops_before = g2.get_operations()
        with pytest.raises(GraphDefError, match="op 'x'.*already has an op of that name"):
            tf.import_graph_def(frozen, name="")
        broken = tf.GraphDef()
        broken.CopyFrom(frozen)
        broken.node[-1].op = "NotAnOp"
        with pytest.raises(GraphDefError, match="op 'half/y'.*'NotAnOp' is not registered"):
            tf.import_graph_def(broken, name="half")
        assert g2.get_operations() == ops_before  # a failed import leaves no op behind
        with pytest.raises(KeyError):
            g2.get_operation_by_name("half/x")


def test_extract_sub_graph_keeps_what_the_outputs_need_in_order():
    g, _ = _model()
    graph_def = g.as_graph_def()
    sub = tf.graph_util.extract_sub_graph(graph_def, ["h"])
    names = [n.name for n in sub.node]
    assert set(names) == {"x", "w", "b", "MatMul", "add", "h"}
    assert names == [n.name for n in graph_def.node if n.name in set(names)]
    with pytest.raises(AssertionError, match="ghost is not in graph"):
        tf.graph_util.extract_sub_graph(graph_def, ["ghost"])
    with pytest.raises(TypeError, match="dest_nodes must be an iterable of strings"):
        tf.graph_util.extract_sub_graph(graph_def, "h")
    with pytest.raises(TypeError, match="graph_def must be a GraphDef"):
        tf.graph_util.extract_sub_graph(g, ["h"])


def test_ops_named_in_attributes_are_kept_a_frozen_cond_runs():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (3,), name="x")
        k = tf.Variable(3.0, name="k")
        out = tf.cond(tf.reduce_sum(x) > 0, lambda: x * k, lambda: x - k)
        tf.identity(out, name="out")
        sess = tf.Session(graph=g)
        sess.run(tf.global_variables_initializer())
    frozen = tf.graph_util.convert_variables_to_constants(sess, g.as_graph_def(), ["out"])
    positive, negative = np.array([1.0, 2.0, 3.0], np.float32), np.array([-1.0, -2.0, 0.0], np.float32)
    _, a = _run_imported(frozen, {"x:0": positive}, "out:0")
    _, b = _run_imported(frozen, {"x:0": negative}, "out:0")
    np.testing.assert_allclose(a, positive * 3.0)
    np.testing.assert_allclose(b, negative - 3.0)


def test_remove_training_nodes_splices_identities_and_drops_checks():
    g, sess = _model()
    frozen = tf.graph_util.convert_variables_to_constants(sess, g.as_graph_def(), ["y"])
    pruned = tf.graph_util.remove_training_nodes(frozen)
    ops = {n.name: n for n in pruned.node}
    assert "h" not in ops and "checked" not in ops
    assert ops["y"].input == ["add"]
    _, out = _run_imported(pruned, {"x:0": XS})
    np.testing.assert_allclose(out, _expected(), rtol=1e-5, atol=1e-6)
    kept = tf.graph_util.remove_training_nodes(frozen, protected_nodes=["h"])
    assert {n.name for n in kept.node} >= {"h"} and "checked" not in {n.name for n in kept.node}
    assert {n.name: n for n in kept.node}["y"].input == ["h"]


def test_an_unfrozen_graph_def_imports_with_its_variables_outside_collections():
    g, _ = _model()
    sub = tf.graph_util.extract_sub_graph(g.as_graph_def(), ["y", "w/Assign", "b/Assign"])
    g2 = tf.Graph()
    with g2.as_default():
        tf.import_graph_def(sub, name="m")
        assert tf.global_variables() == []  # as TF1: a GraphDef has no collections
        with tf.Session() as s:
            s.run(["m/w/Assign", "m/b/Assign"])
            out = s.run("m/y:0", {"m/x:0": XS})
        np.testing.assert_allclose(out, np.maximum(XS @ np.zeros((3, 2)), 0.0))


def _serialized(change):
    g, _ = _model()
    body = json.loads(g.as_graph_def().SerializeToString())
    change(body)
    return json.dumps(body).encode()


def test_broken_graph_defs_name_the_node():
    def parse_and_import(data):
        graph_def = tf.GraphDef()
        graph_def.ParseFromString(data)
        with tf.Graph().as_default():
            tf.import_graph_def(graph_def)

    with pytest.raises(GraphDefError, match="not an nnplug GraphDef \\(a TensorFlow protobuf"):
        parse_and_import(b"\n\x05\n\x01x\x12\x00")
    with pytest.raises(GraphDefError, match="no 'nnplug-graph-def' format marker"):
        parse_and_import(b'{"node": []}')
    with pytest.raises(GraphDefError, match="op 'import/MatMul'.*'Evil' is not registered"):
        parse_and_import(_serialized(lambda b: b["node"][[n["name"] for n in b["node"]].index("MatMul")].update(
            type="Evil")))
    with pytest.raises(GraphDefError, match="op 'import/add'.*'import/gone:0'"):
        parse_and_import(_serialized(lambda b: b["node"][[n["name"] for n in b["node"]].index("add")].update(
            inputs=["gone:0"])))
    with pytest.raises(GraphDefError, match="node 'x': a second node of that name"):
        parse_and_import(_serialized(lambda b: b["node"].append(b["node"][0])))
    with pytest.raises(GraphDefError, match="node 'w': a VariableV2 node needs its variable's record"):
        parse_and_import(_serialized(lambda b: b["variables"].pop("w")))
    with pytest.raises(GraphDefError, match="node\\[0\\]: a node needs a string 'name'"):
        parse_and_import(_serialized(lambda b: b["node"][0].pop("name")))
    with pytest.raises(ValueError, match="'bad name!' is not a valid op name for a node in the serialized GraphDef"):
        parse_and_import(_serialized(lambda b: b["node"][0].update(name="bad name!")))
    with pytest.raises(TypeError, match="needs a GraphDef"):
        tf.import_graph_def(b"bytes")
