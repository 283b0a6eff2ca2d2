"""File formats nnplug reads and writes as TensorFlow does (TFRecord, tf.train.Example)."""
