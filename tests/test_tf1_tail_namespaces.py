"""TF1's tf.math / tf.random aliases, tf.logging, tf.app.run with tf.app.flags, and tf.gfile."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import NotFoundError


def test_math_names_are_the_top_level_functions():
    for name in ("log", "exp", "sqrt", "reduce_sum", "reduce_mean", "argmax", "cumsum", "floormod", "is_nan",
                 "squared_difference", "count_nonzero", "bincount", "atan2", "logical_xor"):
        assert getattr(tf.math, name) is getattr(tf, name), name
    for name in ("top_k", "in_top_k", "l2_normalize", "zero_fraction", "sigmoid", "softplus"):
        assert getattr(tf.math, name) is getattr(tf.nn, name), name


def test_random_namespace_draws_as_the_tf1_functions():
    def draws(make):
        g = tf.Graph()
        with g.as_default():
            tf.random.set_seed(5)
            t = make()
            with tf.Session() as s:
                return s.run(t)
    np.testing.assert_array_equal(draws(lambda: tf.random.normal((3,), seed=1)),
                                  draws(lambda: tf.random_normal((3,), seed=1)))
    u = draws(lambda: tf.random.uniform((100,), 2.0, 3.0))
    assert u.min() >= 2.0 and u.max() < 3.0
    assert np.abs(draws(lambda: tf.random.truncated_normal((200,)))).max() <= 2.0
    assert sorted(draws(lambda: tf.random.shuffle(tf.range(5))).tolist()) == [0, 1, 2, 3, 4]


def test_logging_levels(capfd):
    old = tf.logging.get_verbosity()
    try:
        tf.logging.set_verbosity(tf.logging.INFO)
        tf.logging.info("step %d", 7)
        tf.logging.debug("hidden")
        tf.logging.set_verbosity(tf.logging.ERROR)
        tf.logging.warn("also hidden")
        tf.logging.error("shown")
    finally:
        tf.logging.set_verbosity(old)
    err = capfd.readouterr().err
    assert "INFO:tensorflow:step 7" in err and "ERROR:tensorflow:shown" in err
    assert "hidden" not in err


PROGRAM = textwrap.dedent("""
    import sys
    import nnplug as tf
    flags = tf.app.flags
    flags.DEFINE_string("data_dir", "/tmp/data", "where the data is")
    flags.DEFINE_integer("steps", 10, "training steps")
    flags.DEFINE_float("lr", 0.5, "learning rate")
    flags.DEFINE_boolean("fake", False, "use fake data")
    flags.DEFINE_bool("verbose", True, "talk")
    FLAGS = flags.FLAGS

    def main(argv):
        print(FLAGS.data_dir, FLAGS.steps * 2, FLAGS.lr, FLAGS.fake, FLAGS.verbose, argv[1:])
        return 3

    if __name__ == "__main__":
        tf.app.run()
""")


def _run_program(tmp_path, *args):
    path = tmp_path / "prog.py"
    path.write_text(PROGRAM)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True, env=env, timeout=120)


def test_app_run_parses_flags_and_exits_with_main(tmp_path):
    done = _run_program(tmp_path, "--steps=4", "--lr", "0.25", "--fake", "--noverbose", "extra", "--unknown=1")
    assert done.returncode == 3, done.stderr
    assert done.stdout.split("\n")[0] == "/tmp/data 8 0.25 True False ['extra', '--unknown=1']"
    done = _run_program(tmp_path, "--fake=false", "--data_dir=/x")
    assert done.stdout.startswith("/x 20 0.5 False True []"), done.stderr


def test_flags_errors():
    values = tf.app.FLAGS
    tf.flags.DEFINE_integer("tail_test_flag", 1, "a test flag")
    with pytest.raises(ValueError, match="tail_test_flag.*twice"):
        tf.flags.DEFINE_integer("tail_test_flag", 2, "again")
    assert values(["prog", "--tail_test_flag=5", "rest"]) == ["prog", "rest"]
    assert values.tail_test_flag == 5
    with pytest.raises(AttributeError, match="no flag 'nosuch'"):
        getattr(values, "nosuch")
    with pytest.raises(ValueError, match="bad flag value"):
        values(["prog", "--tail_test_flag=abc"])


def test_gfile(tmp_path):
    gf = tf.gfile
    d = tmp_path / "a" / "b"
    gf.MakeDirs(str(d))
    gf.MakeDirs(str(d))  # existing: fine
    assert gf.IsDirectory(str(d)) and gf.Exists(str(d))
    with gf.GFile(str(d / "x.txt"), "w") as f:
        f.write("hello")
    with gf.Open(str(d / "x.txt"), "rb") as f:
        assert f.read() == b"hello"
    gf.Copy(str(d / "x.txt"), str(d / "y.txt"))
    with pytest.raises(FileExistsError, match="y.txt.*overwrite"):
        gf.Copy(str(d / "x.txt"), str(d / "y.txt"))
    gf.Rename(str(d / "y.txt"), str(d / "z.txt"))
    assert gf.ListDirectory(str(d)) == ["x.txt", "z.txt"]
    assert gf.Glob(str(d / "*.txt")) == [str(d / "x.txt"), str(d / "z.txt")]
    gf.Remove(str(d / "z.txt"))
    with pytest.raises(NotFoundError, match="z.txt"):
        gf.Remove(str(d / "z.txt"))
    with pytest.raises(NotFoundError, match="nope"):
        gf.GFile(str(d / "nope"), "r")
    gf.DeleteRecursively(str(tmp_path / "a"))
    assert not gf.Exists(str(tmp_path / "a"))
    with pytest.raises(NotFoundError):
        gf.DeleteRecursively(str(tmp_path / "a"))
