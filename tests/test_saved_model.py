"""SavedModels as TF1 programs write and read them: `simple_save` and `SavedModelBuilder`, then
`tf.saved_model.loader.load` in a fresh graph and session, which must predict as the trained session did
(and as float64 NumPy on its weights); signatures and their checks; export folders that exist, half-written
exports, and broken or missing files."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import nnplug as tf
from nnplug.saved_model.protos import SavedModelError
from nnplug.train.meta_graph import MetaGraphError
from nnplug.train.saver import CheckpointError

RNG = np.random.default_rng(3)
XS = RNG.normal(size=(16, 3)).astype(np.float32)
YS = np.tanh(XS @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3)[:, 0]


def _trained():
    """A small trained regression in its own graph: (graph, session, x, prediction, train_op)."""
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(2)
        x = tf.placeholder(tf.float32, (None, 3), name="x")
        y = tf.placeholder(tf.float32, (None,), name="y")
        w = tf.Variable(tf.random_normal((3, 1), stddev=0.5), name="w")
        b = tf.Variable(0.1, name="b")
        pred = tf.squeeze(tf.tanh(tf.matmul(x, w) + b), axis=1, name="pred")
        loss = tf.reduce_mean(tf.square(pred - y), name="loss")
        train = tf.train.GradientDescentOptimizer(0.2).minimize(loss, name="train")
        sess = tf.Session(graph=g)
        sess.run(tf.global_variables_initializer())
        for _ in range(20):
            sess.run(train, {x: XS, y: YS})
    return g, sess, x, pred, train


def _numpy_prediction(sess, graph, xs):
    w = sess.variable_value(graph.get_operation_by_name("w").attrs["variable"]).astype(np.float64)
    b = float(sess.variable_value(graph.get_operation_by_name("b").attrs["variable"]))
    return np.tanh(xs.astype(np.float64) @ w + b)[:, 0]


def _load(tags, export_dir):
    g = tf.Graph()
    sess = tf.Session(graph=g)
    meta = tf.saved_model.loader.load(sess, tags, export_dir)
    return g, sess, meta


def test_simple_save_then_load_predicts_as_the_trained_session(tmp_path):
    g, sess, x, pred, _ = _trained()
    before = sess.run(pred, {x: XS})
    reference = _numpy_prediction(sess, g, XS)
    export = str(tmp_path / "export")
    tf.saved_model.simple_save(sess, export, inputs={"x": x}, outputs={"pred": pred})
    assert sorted(os.listdir(export)) == ["saved_model.json", "variables"]
    assert tf.saved_model.contains_saved_model(export)

    g2, sess2, meta = _load([tf.saved_model.tag_constants.SERVING], export)
    signature = meta.signature_def[tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY]
    assert signature.method_name == tf.saved_model.signature_constants.PREDICT_METHOD_NAME
    assert meta.meta_info_def.tags == ["serve"]
    x_name, pred_name = signature.inputs["x"].name, signature.outputs["pred"].name
    assert (x_name, pred_name) == ("x:0", "pred:0")
    after = sess2.run(g2.get_tensor_by_name(pred_name), {g2.get_tensor_by_name(x_name): XS})
    np.testing.assert_array_equal(after, before)
    np.testing.assert_allclose(after, reference, rtol=1e-5, atol=1e-6)
    assert any(n.op == "VariableV2" for n in meta.graph_def.node)


def test_the_builder_saves_values_of_the_moment_and_several_tag_sets(tmp_path):
    g, sess, x, pred, train = _trained()
    before = sess.run(pred, {x: XS})
    export = str(tmp_path / "built")
    builder = tf.saved_model.builder.SavedModelBuilder(export)
    signature = tf.saved_model.signature_def_utils.build_signature_def(
        inputs={"x": tf.saved_model.utils.build_tensor_info(x)},
        outputs={"pred": tf.saved_model.utils.build_tensor_info(pred)},
        method_name=tf.saved_model.signature_constants.PREDICT_METHOD_NAME)
    builder.add_meta_graph_and_variables(sess, [tf.saved_model.tag_constants.TRAINING],
                                         signature_def_map={"predict": signature})
    with g.as_default():
        builder.add_meta_graph([tf.saved_model.tag_constants.SERVING, "gpu"], signature_def_map={"predict": signature})
    sess.run(train, {x: XS, g.get_tensor_by_name("y:0"): YS})  # after add_...: not in the export
    assert not os.path.exists(export)  # written whole by save()
    path = builder.save()
    assert path == os.path.join(export, "saved_model.json")

    for tags in (["train"], ["gpu", "serve"]):
        g2, sess2, meta = _load(tags, export)
        sig = meta.signature_def["predict"]
        out = sess2.run(sig.outputs["pred"].name, {sig.inputs["x"].name: XS})
        np.testing.assert_array_equal(out, before)
    # the training meta graph goes on training from the saved values, as the original did from them
    g3, sess3, _ = _load(["train"], export)
    loss_before = sess3.run("loss:0", {"x:0": XS, "y:0": YS})
    sess3.run("train", {"x:0": XS, "y:0": YS})
    assert sess3.run("loss:0", {"x:0": XS, "y:0": YS}) < loss_before


def test_loaded_in_a_new_process(tmp_path):
    g, sess, x, pred, _ = _trained()
    expected = sess.run(pred, {x: XS})
    export = str(tmp_path / "m")
    tf.saved_model.simple_save(sess, export, {"x": x}, {"pred": pred})
    np.save(tmp_path / "xs.npy", XS)
    script = (
        "import sys, numpy as np, nnplug as tf\n"
        "sess = tf.Session()\n"
        "meta = tf.saved_model.loader.load(sess, [tf.saved_model.SERVING], sys.argv[1])\n"
        "sig = meta.signature_def['serving_default']\n"
        "out = sess.run(sig.outputs['pred'].name, {sig.inputs['x'].name: np.load(sys.argv[2])})\n"
        "np.save(sys.argv[3], out)\n")
    subprocess.run([sys.executable, "-c", script, export, str(tmp_path / "xs.npy"), str(tmp_path / "out.npy")],
                   check=True, timeout=120)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_main_op_runs_after_restore_with_the_exports_assets(tmp_path):
    asset = tmp_path / "vocab.txt"
    asset.write_bytes(b"twelve bytes")
    g = tf.Graph()
    with g.as_default():
        scale = tf.Variable(3.0, name="scale")
        size = tf.Variable(0, name="asset_size", collections=[tf.GraphKeys.LOCAL_VARIABLES])
        path = tf.constant(str(asset), name="asset_path")
        tf.add_to_collection(tf.GraphKeys.ASSET_FILEPATHS, path)
        init = tf.group(size.assign(tf.size(tf.decode_raw(tf.io.read_file(path), tf.uint8))), name="init")
        out = tf.multiply(scale, 2.0, name="out")
        sess = tf.Session(graph=g)
        sess.run(tf.global_variables_initializer())
        sess.run(scale.assign(5.0))
        export = str(tmp_path / "with_assets")
        tf.saved_model.simple_save(sess, export, {"s": scale.value()}, {"out": out}, legacy_init_op=init)
    assert os.listdir(os.path.join(export, "assets")) == ["vocab.txt"]
    asset.write_bytes(b"changed: the export's copy is what the main op reads")
    g2, sess2, meta = _load(["serve"], export)
    assert sess2.run("out:0") == 10.0
    assert sess2.run("asset_size:0") == len(b"twelve bytes")


def test_signature_helpers_follow_tf1():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 3), name="x")
        examples = tf.placeholder(tf.string, (None,), name="examples")
        classes = tf.constant(["a", "b"], name="classes")
        info = tf.saved_model.utils.build_tensor_info(x)
        assert (info.name, info.dtype) == ("x:0", 1)  # DT_FLOAT is 1 in TF's DataType enum
        assert [d.size for d in info.tensor_shape.dim] == [-1, 3] and not info.tensor_shape.unknown_rank
        assert tf.saved_model.utils.get_tensor_from_tensor_info(info) is x
        with pytest.raises(ValueError, match="Prediction `inputs` cannot be None or empty"):
            tf.saved_model.predict_signature_def({}, {"y": x})
        with pytest.raises(ValueError, match="Prediction `outputs` cannot be None or empty"):
            tf.saved_model.predict_signature_def({"x": x}, None)
        with pytest.raises(ValueError, match="must be of type string"):
            tf.saved_model.classification_signature_def(x, classes, None)
        with pytest.raises(ValueError, match="cannot both be None"):
            tf.saved_model.classification_signature_def(examples, None, None)
        with pytest.raises(TypeError, match="needs a tensor"):
            tf.saved_model.build_tensor_info(3)
        classify = tf.saved_model.classification_signature_def(examples, classes, None)
        assert set(classify.outputs) == {"classes"} and classify.inputs["inputs"].name == "examples:0"
        assert tf.saved_model.is_valid_signature(classify)
        assert tf.saved_model.is_valid_signature(tf.saved_model.predict_signature_def({"x": x}, {"y": x}))
        assert not tf.saved_model.is_valid_signature(tf.saved_model.build_signature_def({}, {}, "unknown/method"))
        regress = tf.saved_model.regression_signature_def(examples, tf.reduce_sum(x, axis=1))
        assert regress.method_name == "tensorflow/serving/regress" and tf.saved_model.is_valid_signature(regress)


def test_an_export_folder_that_exists_and_is_not_empty_is_refused(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    with pytest.raises(AssertionError, match="already exists, and isn't empty"):
        tf.saved_model.builder.SavedModelBuilder(str(tmp_path / "taken"))
    g, sess, x, pred, _ = _trained()
    (tmp_path / "empty").mkdir()  # TF1 accepts an empty folder
    tf.saved_model.simple_save(sess, str(tmp_path / "empty"), {"x": x}, {"pred": pred})
    assert tf.saved_model.maybe_saved_model_directory(str(tmp_path / "empty"))
    with pytest.raises(AssertionError, match="already exists"):
        tf.saved_model.simple_save(sess, str(tmp_path / "empty"), {"x": x}, {"pred": pred})
    # filled by someone else between the builder's start and save(): refused, nothing of it left
    builder = tf.saved_model.Builder(str(tmp_path / "late"))
    builder.add_meta_graph_and_variables(sess, ["serve"])
    (tmp_path / "late").mkdir()
    (tmp_path / "late" / "other").write_text("y")
    with pytest.raises(AssertionError, match="already exists"):
        builder.save()
    assert os.listdir(tmp_path / "late") == ["other"]
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_a_half_written_export_leaves_nothing_behind(tmp_path):
    asset = tmp_path / "a.txt"
    asset.write_text("a")
    g, sess, x, pred, _ = _trained()
    with g.as_default():
        path = tf.constant(str(asset), name="asset")
    builder = tf.saved_model.builder.SavedModelBuilder(str(tmp_path / "out"))
    builder.add_meta_graph_and_variables(sess, ["serve"], assets_collection=[path])
    asset.unlink()  # the copy into assets/ fails after the variables were written
    with pytest.raises(FileNotFoundError):
        builder.save()
    assert sorted(os.listdir(tmp_path)) == []
    # a builder killed while saving leaves its staging folder; the next builder there removes it
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    from nnplug.files import _HOST
    stale = tmp_path / f".nnplug-{int(dead):08x}-{_HOST}-0123abcd.staging"
    (stale / "variables").mkdir(parents=True)
    tf.saved_model.builder.SavedModelBuilder(str(tmp_path / "next"))
    assert not stale.exists()


def test_builder_misuse_is_refused(tmp_path):
    g, sess, x, pred, _ = _trained()
    builder = tf.saved_model.builder.SavedModelBuilder(str(tmp_path / "m"))
    with pytest.raises(AssertionError, match="invoke `add_meta_graph_and_variables\\(\\)` first"):
        builder.add_meta_graph(["serve"])
    with pytest.raises(TypeError, match="tags must be a list of strings"):
        builder.add_meta_graph_and_variables(sess, "serve")
    bad = tf.saved_model.build_signature_def({"x": tf.saved_model.utils.build_tensor_info(x)}, {}, "m")
    bad.inputs["x"].name = "nowhere:0"
    with pytest.raises(ValueError, match="signature 'bad', tensor 'x'.*nowhere"):
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"bad": bad})
    builder.add_meta_graph_and_variables(sess, ["serve"])
    with pytest.raises(AssertionError, match="already been saved"):
        builder.add_meta_graph_and_variables(sess, ["train"])
    with g.as_default(), pytest.raises(ValueError, match="tags \\['serve'\\] was added already"):
        builder.add_meta_graph(["serve"])
    with g.as_default():
        tf.Variable(1.0, name="fresh")
        with pytest.raises(ValueError, match="variable 'fresh:0'.*not among the variables"):
            builder.add_meta_graph(["other"])
    g2 = tf.Graph()
    with g2.as_default():
        tf.Variable(1.0, name="never_initialized")
        with pytest.raises(ValueError, match="'never_initialized:0' is not initialized"):
            tf.saved_model.builder.SavedModelBuilder(str(tmp_path / "n")).add_meta_graph_and_variables(
                tf.Session(graph=g2), ["serve"])


def _export(tmp_path):
    g, sess, x, pred, _ = _trained()
    export = str(tmp_path / "export")
    tf.saved_model.simple_save(sess, export, {"x": x}, {"pred": pred})
    return export


def test_two_models_load_into_one_graph_under_import_scopes(tmp_path):
    g, sess, x, pred, _ = _trained()
    expected = sess.run(pred, {x: XS})
    export = str(tmp_path / "m")
    tf.saved_model.simple_save(sess, export, {"x": x}, {"pred": pred})
    g2 = tf.Graph()
    sess2 = tf.Session(graph=g2)
    for scope in ("first", "second"):
        meta = tf.saved_model.loader.load(sess2, ["serve"], export, import_scope=scope)
        sig = meta.signature_def["serving_default"]
        assert sig.outputs["pred"].name == "pred:0"  # as TF1: the names of the saved graph
        out = sess2.run(f"{scope}/pred:0", {f"{scope}/x:0": XS})
        np.testing.assert_array_equal(out, expected)
        tensor = tf.saved_model.utils.get_tensor_from_tensor_info(sig.inputs["x"], g2, import_scope=scope)
        assert tensor.name == f"{scope}/x:0"
    with pytest.raises(SavedModelError, match="already has an op 'first/x'"):
        tf.saved_model.loader.load(sess2, ["serve"], export, import_scope="first")


def test_missing_and_unknown_things_give_clear_errors(tmp_path):
    with pytest.raises(OSError, match="SavedModel file does not exist at: .*nowhere.*does not exist"):
        _load(["serve"], str(tmp_path / "nowhere"))
    (tmp_path / "tf_model").mkdir()
    (tmp_path / "tf_model" / "saved_model.pb").write_bytes(b"\x08\x01")
    with pytest.raises(OSError, match="TensorFlow saved_model.pb"):
        _load(["serve"], str(tmp_path / "tf_model"))
    export = _export(tmp_path)
    with pytest.raises(RuntimeError, match="tags 'train' could not be found.*available tags '\\[\\['serve'\\]\\]'"):
        _load(["train"], export)
    with pytest.raises(TypeError, match="list of strings"):
        _load("serve", export)
    os.unlink(os.path.join(export, "variables", "variables.npz"))
    with pytest.raises(CheckpointError, match="variables.*does not exist"):
        _load(["serve"], export)


def _rewrite(export, change):
    path = os.path.join(export, "saved_model.json")
    with open(path) as f:
        data = json.load(f)
    change(data)
    with open(path, "w") as f:
        json.dump(data, f)


def test_broken_saved_model_files_name_the_file_and_the_field(tmp_path):
    export = _export(tmp_path)
    path = os.path.join(export, "saved_model.json")
    original = open(path, "rb").read()

    def reload():
        return _load(["serve"], export)

    open(path, "wb").write(original[:50])
    with pytest.raises(SavedModelError, match="saved_model.json' is not valid JSON"):
        reload()
    open(path, "wb").write(original)
    _rewrite(export, lambda d: d.update(format="other"))
    with pytest.raises(SavedModelError, match="not an nnplug SavedModel"):
        reload()
    open(path, "wb").write(original)
    _rewrite(export, lambda d: d["meta_graphs"][0]["meta_graph"]["ops"][0].update(type="Evil"))
    with pytest.raises(MetaGraphError, match="saved_model.json.*op 'x'.*'Evil' is not registered"):
        reload()
    open(path, "wb").write(original)
    _rewrite(export, lambda d: d["meta_graphs"][0]["signature_def"]["serving_default"]["inputs"]["x"].update(
        name="ghost:0"))
    with pytest.raises(SavedModelError, match="signature 'serving_default'.*ghost"):
        reload()
    open(path, "wb").write(original)
    _rewrite(export, lambda d: d["meta_graphs"][0].update(assets=[{"tensor": "x:0", "filename": "../../etc/passwd"}]))
    with pytest.raises(SavedModelError, match="not a tensor name and a file name in assets/"):
        reload()
    open(path, "wb").write(original)
    _rewrite(export, lambda d: d["meta_graphs"][0]["signature_def"]["serving_default"]["outputs"]["pred"].update(
        dtype="complex999"))
    with pytest.raises(SavedModelError, match="output 'pred': unknown dtype"):
        reload()


def test_tf2_only_functions_say_what_to_use():
    with pytest.raises(NotImplementedError, match="simple_save"):
        tf.saved_model.save(object(), "dir")
    with pytest.raises(NotImplementedError, match="loader.load"):
        tf.saved_model.load_v2("dir")
    assert tf.saved_model.load is tf.saved_model.loader.load
    assert tf.compat.v1.saved_model.tag_constants.SERVING == "serve"
