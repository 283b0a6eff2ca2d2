"""`tf.contrib.lookup`: TF1's tables and vocabulary helpers (nnplug.lookup, under their TF1 names)."""
from ..lookup import (  # noqa: F401
    HashTable, KeyValueTensorInitializer, TableInitializerBase, TextFileIdTableInitializer, TextFileIndex,
    TextFileInitializer, TextFileStringTableInitializer, index_table_from_file, index_table_from_tensor,
    index_to_string_table_from_file, index_to_string_table_from_tensor,
)
from ..lookup import FastHashSpec  # noqa: F401

__all__ = [
    "FastHashSpec", "HashTable", "KeyValueTensorInitializer", "TableInitializerBase", "TextFileIdTableInitializer",
    "TextFileIndex", "TextFileInitializer", "TextFileStringTableInitializer", "index_table_from_file",
    "index_table_from_tensor", "index_to_string_table_from_file", "index_to_string_table_from_tensor",
]
