"""`tf.strings`, as TF 1.13-1.15 has it: the string ops under their short names (`tf.strings.split` is
TF1's v1 function: split at a whole separator, or at whitespace, into a SparseTensor)."""
from .ops.string_format import string_format as format  # noqa: F401,A004
from .ops.string_number_ops import (  # noqa: F401
    as_string, string_to_hash_bucket_fast as to_hash_bucket_fast, string_to_hash_bucket_strong as to_hash_bucket_strong,
    string_to_number as to_number,
)
from .ops.string_ops import (  # noqa: F401
    lower, reduce_join, regex_full_match, regex_replace, string_join as join, string_length as length,
    string_strip as strip, strings_split as split, substr, unicode_decode, upper,
)

__all__ = [
    "as_string", "format", "join", "length", "lower", "reduce_join", "regex_full_match", "regex_replace", "split",
    "strip", "substr", "to_hash_bucket_fast", "to_hash_bucket_strong", "to_number", "unicode_decode", "upper",
]
