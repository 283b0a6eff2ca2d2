"""`keras.preprocessing.text`: Keras 2's Tokenizer (word index by frequency, texts <-> index sequences,
texts -> bag-of-words matrices) and text_to_word_sequence."""
from __future__ import annotations

import math
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def text_to_word_sequence(text: str, filters: str = FILTERS, lower: bool = True, split: str = " ") -> list[str]:
    """The words of `text`: lower-cased, every character of `filters` turned into `split`, split on it."""
    if lower:
        text = text.lower()
    text = text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in text.split(split) if w]


class Tokenizer:
    """Words numbered from 1 by descending count (ties: first seen first); index 0 is never a word. With
    num_words, texts_to_sequences keeps only indices below it; with oov_token (index 1) unknown words map to
    it instead of being dropped."""

    def __init__(self, num_words: int | None = None, filters: str = FILTERS, lower: bool = True, split: str = " ",
                 char_level: bool = False, oov_token: str | None = None, document_count: int = 0) -> None:
        if num_words is not None and (isinstance(num_words, bool) or not isinstance(num_words, int) or
                                      num_words < 0):
            raise ValueError(f"Tokenizer: num_words must be None or an int >= 0, got {num_words!r:.40}")
        self.num_words, self.filters, self.lower, self.split = num_words, filters, lower, split
        self.char_level, self.oov_token, self.document_count = char_level, oov_token, document_count
        self.word_counts: OrderedDict[str, int] = OrderedDict()
        self.word_docs: defaultdict[str, int] = defaultdict(int)
        self.index_docs: defaultdict[int, int] = defaultdict(int)
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}

    def _words(self, text: str | Sequence[str], where: str) -> list[str]:
        if isinstance(text, str) and not self.char_level:
            return text_to_word_sequence(text, self.filters, self.lower, self.split)
        if isinstance(text, str):
            return list(text.lower() if self.lower else text)
        if isinstance(text, (list, tuple)) and all(isinstance(w, str) for w in text):
            return [w.lower() for w in text] if self.lower else list(text)
        raise TypeError(f"Tokenizer.{where}: each text must be a string (or a list of words), got {text!r:.40}")

    def fit_on_texts(self, texts: Iterable[str | Sequence[str]]) -> None:
        for text in _texts(texts, "fit_on_texts"):
            self.document_count += 1
            words = self._words(text, "fit_on_texts")
            for w in words:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(words):
                self.word_docs[w] += 1
        ranked = sorted(self.word_counts.items(), key=lambda kv: kv[1], reverse=True)  # stable: ties in order
        vocabulary = ([self.oov_token] if self.oov_token is not None else []) + \
            [w for w, _ in ranked if w != self.oov_token]
        self.word_index = {w: i for i, w in enumerate(vocabulary, 1)}
        self.index_word = {i: w for w, i in self.word_index.items()}
        self.index_docs = defaultdict(int, {self.word_index[w]: c for w, c in self.word_docs.items()})

    def _kept(self, i: int | None) -> int | None:
        """The index a word's index `i` becomes: itself, the oov index, or None (dropped)."""
        if i is not None and (not self.num_words or i < self.num_words):
            return i
        return self.word_index.get(self.oov_token) if self.oov_token is not None else None

    def texts_to_sequences(self, texts: Iterable[str | Sequence[str]]) -> list[list[int]]:
        out = []
        for text in _texts(texts, "texts_to_sequences"):
            kept = (self._kept(self.word_index.get(w)) for w in self._words(text, "texts_to_sequences"))
            out.append([i for i in kept if i is not None])
        return out

    def sequences_to_texts(self, sequences: Iterable[Sequence[int]]) -> list[str]:
        out = []
        for seq in sequences:
            words = (self.index_word.get(i) for i in (self._kept(int(j)) for j in seq) if i is not None)
            out.append(" ".join(w for w in words if w is not None))
        return out

    def texts_to_matrix(self, texts: Iterable[str | Sequence[str]], mode: str = "binary") -> np.ndarray:
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode)

    def sequences_to_matrix(self, sequences: Sequence[Sequence[int]], mode: str = "binary") -> np.ndarray:
        """[texts, num_words] rows: 'binary' (0/1), 'count', 'freq' (count / length) or 'tfidf'
        ((1 + log count) * log(1 + documents / (1 + documents with the word)), as Keras 2)."""
        if mode not in ("binary", "count", "freq", "tfidf"):
            raise ValueError(f"Tokenizer: mode must be 'binary', 'count', 'freq' or 'tfidf', got {mode!r:.40}")
        width = self.num_words or len(self.word_index) + 1
        if not self.num_words and not self.word_index:
            raise ValueError("Tokenizer: give num_words or fit_on_texts first, so the matrix width is known")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Tokenizer: mode 'tfidf' needs fit_on_texts first (the document counts)")
        x = np.zeros((len(sequences), width))
        for row, seq in enumerate(sequences):
            counts: dict[int, int] = defaultdict(int)
            for j in seq:
                if 0 <= j < width:
                    counts[j] += 1
            for j, c in counts.items():
                if mode == "binary":
                    x[row, j] = 1.0
                elif mode == "count":
                    x[row, j] = c
                elif mode == "freq":
                    x[row, j] = c / len(seq)
                else:
                    x[row, j] = (1 + math.log(c)) * math.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
        return x


def _texts(texts, where):
    if isinstance(texts, str):
        raise TypeError(f"Tokenizer.{where} takes a list of texts, got one string; wrap it in a list")
    return texts
