"""What the hints are for (type-checked by tests/test_typing.py, never run): mypy must report each line
marked `# error: <code>` with that error code, and nothing else; `# reveal: <type>` is what mypy must show
for the `reveal_type` on that line."""
import numpy as np

import nnplug as tf
from nnplug import keras

x = tf.placeholder(tf.float32, shape=(None, 3))
W = tf.Variable(tf.zeros([3, 2]))
y = tf.matmul(x, W) + 1.0
reveal_type(y)  # reveal: nnplug.graph.Tensor
reveal_type(2.0 * W - np.ones((3, 2)))  # reveal: nnplug.graph.Tensor
reveal_type(tf.nn.relu(y)[0])  # reveal: nnplug.graph.Tensor
reveal_type(x.shape)  # reveal: nnplug.shapes.TensorShape
reveal_type(x.dtype)  # reveal: nnplug.dtypes.DType
reveal_type(tf.gradients(tf.reduce_sum(y), [W]))  # reveal: list[nnplug.graph.Tensor | None]
reveal_type(tf.global_variables_initializer())  # reveal: nnplug.graph.Operation
reveal_type(keras.layers.Dense(4)(keras.Input(shape=(3,))))  # reveal: nnplug.keras.layers.base.KerasTensor
reveal_type(keras.layers.Dense(4)(y))  # reveal: nnplug.graph.Tensor
reveal_type(tf.data.Dataset.range(10).batch(2))  # reveal: nnplug.data.dataset.Dataset
ta = tf.TensorArray(tf.float32, size=3).write(0, y[0])
reveal_type(ta)  # reveal: nnplug.ops.tensor_array.TensorArray
reveal_type(ta.stack())  # reveal: nnplug.graph.Tensor
reveal_type(tf.py_func(np.sin, [y], tf.float32))  # reveal: nnplug.graph.Tensor
reveal_type(tf.py_func(np.sin, [y], [tf.float32]))  # reveal: list[nnplug.graph.Tensor]

tf.placeholder(tf.float32, shape="3")  # error: arg-type
tf.reduce_mean(y, axis="1")  # error: arg-type
tf.layers.dense(x, units="10")  # error: arg-type
tf.nn.softmax(y, axis=1, nme="probabilities")  # error: call-arg
keras.layers.Dense(10, activation=3)  # error: arg-type
keras.Model(inputs=x, outputs=y)  # error: arg-type
tf.Session().run(y, feed_dict=[1, 2])  # error: arg-type
y.numpy()  # error: attr-defined
flag = tf.placeholder(tf.bool, shape=())
tf.cond(flag, tf.zeros([1]), tf.ones([1]))  # error: arg-type
tf.nn.rnn_cell.LSTMCell("4")  # error: arg-type
ta.write(1)  # error: call-arg
