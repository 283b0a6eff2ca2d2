"""keras.preprocessing: pad_sequences against hand-written arrays for every option (as Keras 2 pads and
truncates), and the Tokenizer's word index, sequences and matrices against hand-counted values."""
import math

import numpy as np
import pytest

from nnplug import keras

pad = keras.preprocessing.sequence.pad_sequences
SEQS = [[1, 2, 3], [4, 5], [6]]


@pytest.mark.parametrize("kwargs, expect", [
    ({}, [[1, 2, 3], [0, 4, 5], [0, 0, 6]]),
    ({"padding": "post"}, [[1, 2, 3], [4, 5, 0], [6, 0, 0]]),
    ({"maxlen": 2}, [[2, 3], [4, 5], [0, 6]]),
    ({"maxlen": 2, "truncating": "post"}, [[1, 2], [4, 5], [0, 6]]),
    ({"maxlen": 2, "truncating": "post", "padding": "post"}, [[1, 2], [4, 5], [6, 0]]),
    ({"maxlen": 4, "value": 9}, [[9, 1, 2, 3], [9, 9, 4, 5], [9, 9, 9, 6]]),
    ({"maxlen": 0}, np.zeros((3, 0))),
])
def test_pad_sequences_options(kwargs, expect):
    out = pad(SEQS, **kwargs)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, np.array(expect).reshape(out.shape))
    assert out.shape == np.array(expect).shape


def test_pad_sequences_dtype_items_and_empty():
    out = pad([[0.5, 1.5], [2.5]], dtype="float32", value=-1.0)
    np.testing.assert_array_equal(out, np.array([[0.5, 1.5], [-1.0, 2.5]], np.float32))
    assert out.dtype == np.float32
    items = pad([[[1, 2], [3, 4]], [[5, 6]]], padding="post")  # sequences of vectors
    np.testing.assert_array_equal(items, [[[1, 2], [3, 4]], [[5, 6], [0, 0]]])
    np.testing.assert_array_equal(pad([[], [7]]), [[0], [7]])
    assert pad([]).shape == (0, 0)
    words = pad([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]
    assert keras.utils.pad_sequences([[1]], maxlen=2).tolist() == [[0, 1]]


@pytest.mark.parametrize("call, message", [
    (lambda: pad(SEQS, padding="middle"), r"padding must be 'pre' or 'post', got 'middle'"),
    (lambda: pad(SEQS, truncating="both"), r"truncating must be 'pre' or 'post'"),
    (lambda: pad(SEQS, maxlen=-1), r"maxlen must be None or an int >= 0, got -1"),
    (lambda: pad([[1], 5]), r"sequences\[1\] is not a sequence: 5"),
    (lambda: pad("abc"), r"sequences must be a list of sequences"),
    (lambda: pad([[1.5, 2]]), r"sequences\[0\] holds values that dtype int32 cannot hold exactly"),
    (lambda: pad([[300]], dtype="int8"), r"sequences\[0\] holds values that dtype int8 cannot hold exactly"),
    (lambda: pad([[1]], maxlen=3, dtype="uint8", value=-1), r"value holds values that dtype uint8"),
    (lambda: pad([[1]], value="x"), r"value 'x' is a string but dtype is int32"),
    (lambda: pad([[[1, 2]], [[3]]]), r"sequences\[1\] has items of shape \(1,\), the first non-empty one \(2,\)"),
])
def test_pad_sequences_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "Cat, dog; cat?"]


def test_tokenizer_word_index_and_sequences():
    tok = keras.preprocessing.text.Tokenizer()
    tok.fit_on_texts(TEXTS)
    # counts: the 3, cat 3, dog 2, then the words seen once in order
    assert list(tok.word_index.items()) == [("the", 1), ("cat", 2), ("dog", 3), ("sat", 4), ("on", 5), ("mat", 6),
                                            ("ate", 7), ("my", 8), ("homework", 9)]
    assert tok.index_word[3] == "dog" and tok.document_count == 3
    assert tok.word_counts["cat"] == 3 and tok.word_docs["cat"] == 2
    assert tok.texts_to_sequences(["the cat ate a fish"]) == [[1, 2, 7]]
    assert tok.sequences_to_texts([[1, 2, 7]]) == ["the cat ate"]


def test_tokenizer_num_words_oov_char_level():
    tok = keras.preprocessing.text.Tokenizer(num_words=4, oov_token="<unk>")
    tok.fit_on_texts(TEXTS)
    assert tok.word_index["<unk>"] == 1 and tok.word_index["the"] == 2
    # only indices below num_words are kept; the rest (and unknown words) become <unk>
    assert tok.texts_to_sequences(["the cat ate a dog"]) == [[2, 3, 1, 1, 1]]
    chars = keras.preprocessing.text.Tokenizer(char_level=True)
    chars.fit_on_texts(["abba", "Ca"])
    assert chars.word_index == {"a": 1, "b": 2, "c": 3}
    assert chars.texts_to_sequences(["cab"]) == [[3, 1, 2]]
    assert keras.preprocessing.text.text_to_word_sequence("Hi, there!  You") == ["hi", "there", "you"]


def test_tokenizer_matrices():
    tok = keras.preprocessing.text.Tokenizer(num_words=4)
    tok.fit_on_texts(TEXTS)
    np.testing.assert_array_equal(tok.texts_to_matrix(["cat cat dog"], "binary"), [[0, 0, 1, 1]])
    np.testing.assert_array_equal(tok.texts_to_matrix(["cat cat dog"], "count"), [[0, 0, 2, 1]])
    np.testing.assert_allclose(tok.texts_to_matrix(["cat cat dog"], "freq"), [[0, 0, 2 / 3, 1 / 3]])
    # tfidf: (1 + log count) * log(1 + documents / (1 + documents with the word)); cat in 2 of 3, dog in 2
    idf = math.log(1 + 3 / 3)
    np.testing.assert_allclose(tok.texts_to_matrix(["cat cat dog"], "tfidf"), [[0, 0, (1 + math.log(2)) * idf, idf]])
    with pytest.raises(ValueError, match="mode must be 'binary', 'count', 'freq' or 'tfidf'"):
        tok.texts_to_matrix(["cat"], "tf")
    with pytest.raises(TypeError, match="takes a list of texts, got one string"):
        tok.fit_on_texts("the cat")


def test_to_categorical_still_there():
    np.testing.assert_array_equal(keras.utils.to_categorical([1, 0], 3), [[0, 1, 0], [1, 0, 0]])
