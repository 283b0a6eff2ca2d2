"""TF1's string ops, each against outputs worked out by hand from TF's documentation (and TF's own
outputs for its documented examples), with the edge cases text pipelines meet: empty strings, skip_empty,
UTF-8, quotes and defaults in CSV, and the errors, which name the string, record or field at fault."""
import base64

import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError
from nnplug.lib.fingerprint import fingerprint64, siphash


def run(fetches, feed=None, backend=None):
    with tf.Session(backend=backend) as sess:
        return sess.run(fetches, feed)


def listed(x):
    return np.asarray(x).tolist()


# -- splitting -------------------------------------------------------------------------------------------
def test_string_split_gives_a_sparse_tensor_on_every_backend(backend):
    with tf.Graph().as_default():
        lines = tf.placeholder(tf.string, (None,))
        sp = tf.string_split(lines, delimiter=" ")
        assert isinstance(sp, tf.SparseTensor) and sp.values.dtype == tf.string
        got = run([sp.indices, sp.values, sp.dense_shape], {lines: ["hello world", "a  b", ""]}, backend)
    assert listed(got[0]) == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert listed(got[1]) == [b"hello", b"world", b"a", b"b"]  # the empty piece of "a  b" is skipped
    assert listed(got[2]) == [3, 2]


def test_string_split_keeps_empty_pieces_and_splits_at_any_delimiter_character():
    with tf.Graph().as_default():
        keep = tf.string_split(["a  b"], delimiter=" ", skip_empty=False)
        any_of = tf.string_split(["a,;b", "c;d"], delimiter=",;")
        chars = tf.string_split(["hé", "ab"], delimiter="")
        default = tf.string_split(["a\tb c"])  # the default delimiter is a space only
        k, a, c, d = run([keep, any_of, chars, default])
    assert listed(k.values) == [b"a", b"", b"b"] and listed(k.dense_shape) == [1, 3]
    assert listed(a.values) == [b"a", b"b", b"c", b"d"] and listed(a.indices) == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert listed(c.values) == [b"h", b"\xc3", b"\xa9", b"a", b"b"] and listed(c.dense_shape) == [2, 3]  # bytes
    assert listed(d.values) == [b"a\tb", b"c"]


def test_strings_split_takes_a_whole_separator_or_whitespace():
    with tf.Graph().as_default():
        words = tf.strings.split(["a b", " c  d ", ""])
        exact = tf.strings.split(["a,,b", "", ","], sep=",")
        multi = tf.strings.split(["a<>b"], sep="<>")
        once = tf.strings.split(["a,b,c"], sep=",", maxsplit=1)
        w, e, m, o = run([words, exact, multi, once])
    assert listed(w.values) == [b"a", b"b", b"c", b"d"] and listed(w.dense_shape) == [3, 2]
    assert listed(e.values) == [b"a", b"", b"b", b"", b"", b""]
    assert listed(e.indices) == [[0, 0], [0, 1], [0, 2], [1, 0], [2, 0], [2, 1]]
    assert listed(m.values) == [b"a", b"b"] and listed(o.values) == [b"a", b"b,c"]


def test_split_of_a_computed_tensor_feeds_what_follows():
    """The pieces of strings computed in the plan (not fed) are counted by a first run, then fed."""
    with tf.Graph().as_default():
        text = tf.placeholder(tf.string, (None,))
        words = tf.string_split(tf.strings.lower(text))
        joined = tf.reduce_join(words.values, separator="+")
        got = run([joined, words.dense_shape], {text: ["The Cat", "SAT"]})
    assert got[0] == b"the+cat+sat" and listed(got[1]) == [2, 2]


def test_split_refuses_what_it_cannot_split():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="vector of strings"):
            tf.string_split([["a"]])
        with pytest.raises(TypeError, match="takes strings"):
            tf.string_split(tf.constant([1, 2]))
        with pytest.raises(ValueError, match="RaggedTensor"):
            tf.strings.split(["a"], result_type="RaggedTensor")


# -- joining, stripping, case, length --------------------------------------------------------------------
def test_join_strip_case_and_length():
    with tf.Graph().as_default():
        out = run({
            "join": tf.string_join([["a", "b"], "x"], separator="-"),
            "join2": tf.strings.join(["a", "b"]),
            "strip": tf.string_strip([" \t a b \n", ""]),
            "lower": tf.strings.lower(["HéLLO É"]),
            "lower8": tf.strings.lower(["HéLLO É"], encoding="utf-8"),
            "upper": tf.strings.upper(["héllo"]),
            "bytes": tf.strings.length(["héllo", ""]),
            "chars": tf.strings.length(["héllo", ""], unit="UTF8_CHAR"),
        })
    assert listed(out["join"]) == [b"a-x", b"b-x"] and out["join2"] == b"ab"
    assert listed(out["strip"]) == [b"a b", b""]
    assert listed(out["lower"]) == ["héllo É".encode()]  # ASCII letters only, by default
    assert listed(out["lower8"]) == ["héllo é".encode()] and listed(out["upper"]) == ["HéLLO".encode()]
    assert listed(out["bytes"]) == [6, 0] and listed(out["chars"]) == [5, 0]
    assert out["bytes"].dtype == np.int32


def test_reduce_join_along_axes():
    x = [["a", "b"], ["c", "d"]]
    with tf.Graph().as_default():
        out = run([tf.reduce_join(x, 0), tf.reduce_join(x, 1, keep_dims=True, separator="-"), tf.reduce_join(x),
                   tf.strings.reduce_join(x, axis=-1), tf.reduce_join(x, [0, 1], separator=",")])
    assert listed(out[0]) == [b"ac", b"bd"] and listed(out[1]) == [[b"a-b"], [b"c-d"]]
    assert out[2] == b"abcd" and listed(out[3]) == [b"ab", b"cd"] and out[4] == b"a,b,c,d"
    with tf.Graph().as_default(), pytest.raises(ValueError, match="out of range"):
        tf.reduce_join(x, 2)


# -- substrings and regular expressions --------------------------------------------------------------------
def test_substr_bytes_utf8_negative_positions_and_vectors():
    with tf.Graph().as_default():
        out = run([tf.substr(["hello", "hi"], 1, 3), tf.substr(["hello"], -3, 2),
                   tf.strings.substr(["héllo"], 1, 2, unit="UTF8_CHAR"), tf.substr(["hello", "world"], [0, 1], [2, 3]),
                   tf.substr(["abc"], 3, 1)])
    assert [listed(o) for o in out] == [[b"ell", b"i"], [b"ll"], ["él".encode()], [b"he", b"orl"], [b""]]
    with tf.Graph().as_default():
        with pytest.raises(InvalidArgumentError, match=r"pos 5 out of range for string b'hi' at index 0"):
            run(tf.substr(["hi"], 5, 1))


def test_regex_replace_and_full_match():
    with tf.Graph().as_default():
        out = run([tf.regex_replace(["aa bb", "a"], "a+", "X"),
                   tf.regex_replace(["aa ba"], "a", "X", replace_global=False),
                   tf.strings.regex_replace(["ab"], "(a)(b)", r"\2\1<\0>"),
                   tf.strings.regex_full_match(["abc", "abcd", ""], "a.c")])
    assert listed(out[0]) == [b"X bb", b"X"] and listed(out[1]) == [b"Xa ba"]
    assert listed(out[2]) == [b"ba<ab>"] and listed(out[3]) == [True, False, False]
    with tf.Graph().as_default(), pytest.raises(InvalidArgumentError, match=r"Invalid pattern: \("):
        tf.strings.regex_full_match(["abc"], "(")


# -- numbers ---------------------------------------------------------------------------------------------
def test_string_to_number():
    with tf.Graph().as_default():
        f = tf.string_to_number(["1.5", " 2", "1e3", "-inf", "-0x10"])
        i = tf.strings.to_number(["12", "-3", "+7"], out_type=tf.int64)
        d = tf.string_to_number(["0.1"], tf.float64)
        got = run([f, i, d])
    assert got[0].dtype == np.float32 and listed(got[0]) == [1.5, 2.0, 1000.0, -np.inf, -16.0]
    assert got[1].dtype == np.int64 and listed(got[1]) == [12, -3, 7] and got[2].tolist() == [0.1]
    for bad, out_type in (("abc", tf.float32), ("1.5", tf.int32), ("3000000000", tf.int32), ("1_000", tf.float32),
                          ("0x10", tf.int32)):
        with tf.Graph().as_default():
            with pytest.raises(InvalidArgumentError, match=f"could not correctly convert string: '{bad}'"):
                run(tf.string_to_number(["1", bad], out_type))
    with tf.Graph().as_default(), pytest.raises(TypeError, match="out_type"):
        tf.string_to_number(["1"], tf.string)


def test_as_string_formats_as_printf():
    with tf.Graph().as_default():
        out = run([tf.as_string([3.14159, -2.0]), tf.as_string([3.14159], precision=2),
                   tf.as_string([3.14159], scientific=True), tf.as_string([3.14159, 1e10, 0.0001], shortest=True),
                   tf.as_string([7, -7], width=5, fill="0"), tf.as_string([7], width=5),
                   tf.as_string([1.5], width=8, precision=1), tf.as_string([True, False]),
                   tf.as_string(tf.constant([5], tf.int64))])
    assert [listed(o) for o in out] == [
        [b"3.141590", b"-2.000000"], [b"3.14"], [b"3.141590e+00"], [b"3.14159", b"1e+10", b"0.0001"],
        [b"00007", b"-0007"], [b"    7"], [b"     1.5"], [b"true", b"false"], [b"5"]]
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="precision not supported for datatype int32"):
            tf.as_string([1], precision=2)
        with pytest.raises(ValueError, match="one or fewer characters"):
            tf.as_string([1.0], fill="ab")
        with pytest.raises(TypeError, match="numbers or bools"):
            tf.as_string(["a"])


# -- hashes ----------------------------------------------------------------------------------------------
def test_hash_functions_match_their_reference_vectors():
    # SipHash-2-4's reference vectors (key 00..0f, message 00..n-1, from the SipHash paper)
    key = (0x0706050403020100, 0x0f0e0d0c0b0a0908)
    assert siphash(key, b"") == 0x726fdb47dd0e0e31 and siphash(key, bytes(range(15))) == 0xa129ca6149be45e5
    # tf.fingerprint's documented bytes of 'a' are Fingerprint64 in little-endian order
    assert list(fingerprint64(b"a").to_bytes(8, "little")) == [227, 117, 223, 182, 101, 66, 69, 179]


def test_hash_buckets_are_tensorflows():
    with tf.Graph().as_default():
        fast = tf.string_to_hash_bucket_fast(["Hello", "TensorFlow", "2.x"], 3)
        strong = tf.strings.to_hash_bucket_strong(["Hello", "TF"], 3, [1, 2])
        wide = tf.string_to_hash_bucket_fast([b"x" * n for n in (0, 5, 12, 20, 40, 64, 65, 130)], 2 ** 62)
        got = run([fast, strong, wide])
    assert listed(got[0]) == [0, 2, 2] and listed(got[1]) == [2, 0]  # TF's documented examples
    assert got[0].dtype == np.int64
    assert listed(got[2]) == [fingerprint64(b"x" * n) % 2 ** 62 for n in (0, 5, 12, 20, 40, 64, 65, 130)]
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="num_buckets must be a positive int"):
            tf.string_to_hash_bucket_fast(["a"], 0)
        with pytest.raises(ValueError, match="key must be a list of two ints"):
            tf.string_to_hash_bucket_strong(["a"], 3, [1])


# -- base64 ----------------------------------------------------------------------------------------------
def test_base64_is_web_safe():
    data = [b"hello", b"\xff\xfe", b"", bytes(range(256))]
    with tf.Graph().as_default():
        enc = tf.encode_base64(data)
        padded = tf.encode_base64(data, pad=True)
        back = tf.decode_base64(enc)
        e, p, b = run([enc, padded, back])
    assert listed(p) == [base64.urlsafe_b64encode(d) for d in data]
    assert listed(e) == [base64.urlsafe_b64encode(d).rstrip(b"=") for d in data] and listed(e)[1] == b"__4"
    assert listed(b) == data
    for bad, why in ((b"a", "1 modulo 4"), (b"a+b/", "Invalid character")):
        with tf.Graph().as_default(), pytest.raises(InvalidArgumentError, match=why):
            run(tf.decode_base64([bad]))


# -- format ----------------------------------------------------------------------------------------------
def test_strings_format_prints_as_tf():
    with tf.Graph().as_default():
        out = run([tf.strings.format("x={} y={}", ([1, 2], "s")), tf.strings.format("{}", tf.constant([[1.5, 2.0]])),
                   tf.strings.format("{}", tf.range(20)), tf.strings.format("{}", tf.reshape(tf.range(6), (2, 3))),
                   tf.strings.format("{}", tf.constant([0.1, 3.14159265])),
                   tf.strings.format("<{}>", tf.constant(True)),
                   tf.strings.format("{}", tf.range(8), summarize=-1)])
    assert out[:4] == [b'x=[1 2] y="s"', b"[[1.5 2]]", b"[0 1 2 ... 17 18 19]", b"[[0 1 2]\n [3 4 5]]"]
    # float32 0.1 reads back from 6 digits; pi in float32 needs 9 (3.14159274)
    assert out[4] == b"[0.1 3.14159274]" and out[5] == b"<1>" and out[6] == b"[0 1 2 3 4 5 6 7]"
    with tf.Graph().as_default():
        big = run(tf.strings.format("{}", tf.reshape(tf.range(64), (8, 8))))
    rows = [f"[{r * 8} {r * 8 + 1} {r * 8 + 2} ... {r * 8 + 5} {r * 8 + 6} {r * 8 + 7}]" for r in (0, 1, 2, 5, 6, 7)]
    assert big.decode() == "[" + "\n ".join(rows[:3] + ["..."] + rows[3:]) + "]"
    with tf.Graph().as_default(), pytest.raises(ValueError, match="2 placeholders"):
        tf.strings.format("{} {}", [1])


# -- decode_csv ------------------------------------------------------------------------------------------
def test_decode_csv_types_defaults_and_quotes():
    with tf.Graph().as_default():
        records = tf.placeholder(tf.string, (None,))
        cols = tf.decode_csv(records, [[0], ["z"], [0.0], tf.constant([7], tf.int64)])
        assert [c.dtype for c in cols] == [tf.int32, tf.string, tf.float32, tf.int64]
        got = run(cols, {records: ["1,a,2.5,3", ",b,,", '3,"c,d",1, 4', '-2,"say ""hi""",-1e1,0']})
    assert listed(got[0]) == [1, 0, 3, -2]
    assert listed(got[1]) == [b"a", b"b", b"c,d", b'say "hi"']
    assert listed(got[2]) == [2.5, 0.0, 1.0, -10.0] and listed(got[3]) == [3, 7, 4, 0]


def test_decode_csv_options():
    with tf.Graph().as_default():
        na = tf.decode_csv(["NA,a"], [[7], ["z"]], na_value="NA")
        sel = tf.decode_csv(["1,a,2"], [[0], [0]], select_cols=[0, 2])
        noq = tf.decode_csv(['"a",c'], [["z"], ["z"]], use_quote_delim=False)
        pipe = tf.decode_csv([["1|2"], ["3|"]], [[0], [9]], field_delim="|")
        got = run([na, sel, noq, pipe])
    assert [listed(c) for c in got[0]] == [[7], [b"a"]] and [listed(c) for c in got[1]] == [[1], [2]]
    assert [listed(c) for c in got[2]] == [[b'"a"'], [b"c"]]
    assert [listed(c) for c in got[3]] == [[[1], [3]], [[2], [9]]]  # shaped like the records


@pytest.mark.parametrize("records, defaults, message", [
    (["1,a", ",b"], [np.zeros(0, np.int32), ["z"]], r"Field 0 is required but missing in record 1"),
    (["1,a,3"], [[0], ["z"]], r"Expect 2 fields but have 3 in record 0"),
    (["1,a", "x,b"], [[0], ["z"]], r"Field 0 in record 1 is not a valid int32: x"),
    (["1.5,2"], [[0], [0]], r"Field 0 in record 0 is not a valid int32: 1.5"),
    (['"a"b,c'], [["z"], ["z"]], r"Quote inside a string has to be escaped by another quote \(record 0"),
    (['"ab,c'], [["z"], ["z"]], r"Quoted field has to end with quote"),
])
def test_decode_csv_errors_name_the_record_and_field(records, defaults, message):
    with tf.Graph().as_default():
        r = tf.placeholder(tf.string, (None,))
        cols = tf.decode_csv(r, defaults)
        with pytest.raises(InvalidArgumentError, match=message):
            run(cols, {r: records})


def test_decode_csv_refuses_bad_arguments():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="select_cols for 1 record_defaults"):
            tf.decode_csv(["1,2"], [[0]], select_cols=[0, 1])
        with pytest.raises(ValueError, match="field_delim must be one character"):
            tf.decode_csv(["1"], [[0]], field_delim=",,")
        with pytest.raises(TypeError, match=r"record_defaults\[0\] is bool"):
            tf.decode_csv(["1"], [[True]])


def test_string_ops_inside_a_dataset_map(tmp_path):
    (tmp_path / "lines.csv").write_text("3,a b\n4,c\n")
    with tf.Graph().as_default():
        lines = tf.data.TextLineDataset(str(tmp_path / "lines.csv"))
        parsed = lines.map(lambda line: tf.decode_csv(line, [[0], [""]]))
        words = parsed.map(lambda n, text: (n * 2, tf.string_split([text]).values))
        n, w = words.make_one_shot_iterator().get_next()
        with tf.Session() as sess:
            assert [listed(x) for x in sess.run([n, w])] == [6, [b"a", b"b"]]
            assert [listed(x) for x in sess.run([n, w])] == [8, [b"c"]]


def test_unicode_decode_of_a_string():
    cases = {  # input -> (replace, ignore, replace with control characters replaced)
        "héllo".encode(): ([104, 233, 108, 108, 111],) * 3,
        b"a\xffb": ([97, 0xFFFD, 98], [97, 98], [97, 0xFFFD, 98]),
        b"a\xe2\x82": ([97, 0xFFFD], [97], [97, 0xFFFD]),  # a cut-off sequence is one error
        b"a\x01b": ([97, 1, 98], [97, 1, 98], [97, 0xFFFD, 98]),
        b"": ([], [], []),
    }
    with tf.Graph().as_default():
        s = tf.placeholder(tf.string, ())
        outs = [tf.strings.unicode_decode(s, "UTF-8"), tf.strings.unicode_decode(s, "UTF-8", errors="ignore"),
                tf.strings.unicode_decode(s, "UTF-8", replace_control_characters=True)]
        with tf.Session() as sess:
            for text, want in cases.items():
                assert [listed(o) for o in sess.run(outs, {s: text})] == list(want)
            assert listed(sess.run(tf.strings.unicode_decode(s, "UTF-8", replacement_char=63), {s: b"a\xffb"})) \
                == [97, 63, 98]
            assert listed(sess.run(tf.strings.unicode_decode(s, "UTF-16-BE"), {s: "hé".encode("utf-16-be")})) \
                == [104, 233]
            with pytest.raises(InvalidArgumentError, match="Invalid formatting on input string"):
                sess.run(tf.strings.unicode_decode(s, "UTF-8", errors="strict"), {s: b"a\xffb"})
        with pytest.raises(NotImplementedError, match="RaggedTensor"):
            tf.strings.unicode_decode(["a", "b"], "UTF-8")
