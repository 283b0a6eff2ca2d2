"""The chapter's first low-level programs with `import nnplug as tf`: z = w*x + b fed with scalars and a
batch, and a rank-3 tensor reshaped with -1 whose column sums and means are computed.

    python examples/basics.py
"""
import numpy as np

import nnplug as tf


def linear_model():
    """z = w*x + b with a placeholder of unknown shape: returns [(x, z)] for three scalars and a batch."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(dtype=tf.float32, shape=(None), name='x')
        w = tf.Variable(2.0, name='weight')
        b = tf.Variable(0.7, name='bias')
        z = w * x + b
        init = tf.global_variables_initializer()
    results = []
    with tf.Session(graph=g) as sess:
        sess.run(init)
        for t in [1.0, 0.6, -1.8]:
            value = sess.run(z, feed_dict={x: t})
            print('x=%4.1f --> z=%4.1f' % (t, value))
            results.append((t, value))
        batch = [1., 2., 3.]
        value = sess.run(z, feed_dict={x: batch})
        print(value)
        results.append((batch, value))
    return results


def reshape_and_reduce():
    """Reshape (3, 2, 3) to (-1, 6); returns the reshaped array, its column sums and column means."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(dtype=tf.float32, shape=(None, 2, 3), name='input_x')
        x2 = tf.reshape(x, shape=(-1, 6), name='x2')
        # calculate the sum of each column
        xsum = tf.reduce_sum(x2, axis=0, name='col_sum')
        # calculate the mean of each column
        xmean = tf.reduce_mean(x2, axis=0, name='col_mean')
    with tf.Session(graph=g) as sess:
        x_array = np.arange(18).reshape(3, 2, 3)
        print('input shape: ', x_array.shape)
        reshaped = sess.run(x2, feed_dict={x: x_array})
        print('Reshaped:\n', reshaped)
        sums = sess.run(xsum, feed_dict={x: x_array})
        print('Column Sums:\n', sums)
        means = sess.run(xmean, feed_dict={x: x_array})
        print('Column Means:\n', means)
    return reshaped, sums, means


if __name__ == '__main__':
    linear_model()
    reshape_and_reduce()
