"""The chapter's activation functions, computed with nnplug: logistic, tanh and ReLU over [-5, 5], and the
softmax of the net inputs [1.78, 0.76, 1.65].

    python examples/activations.py --out plots/

Needs matplotlib for the pictures (`pip install nnplug[plot]`); without it the numbers are still printed.
"""
import argparse
from pathlib import Path

import numpy as np

import nnplug as tf

NET_INPUTS = [1.78, 0.76, 1.65]


def compute(backend=None):
    """z over [-5, 5], the three activations of z, and the softmax of the chapter's net inputs."""
    g = tf.Graph()
    with g.as_default():
        z = tf.placeholder(tf.float32, shape=(None,), name="z")
        acts = {"logistic": tf.sigmoid(z), "tanh": tf.tanh(z), "ReLU": tf.nn.relu(z)}
        net = tf.constant([NET_INPUTS], dtype=tf.float32)
        probas = tf.nn.softmax(net)
    zs = np.arange(-5, 5, 0.005, dtype=np.float32)
    with tf.Session(graph=g, backend=backend) as sess:
        values, p = sess.run([acts, probas], feed_dict={z: zs})
    return zs, values, p[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="plots", help="folder for the PNG files (default: plots)")
    ap.add_argument("--backend", default=None, help="nnplug backend (default: NNPLUG_BACKEND or numpy)")
    args = ap.parse_args(argv)

    zs, values, p = compute(args.backend)
    print("net inputs:", NET_INPUTS)
    print("softmax probabilities:", np.round(p, 4), " sum:", float(np.sum(p)))
    print("predicted class:", int(np.argmax(p)))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; no pictures written (pip install nnplug[plot])")
        return p

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.axhline(0, color="black", lw=0.5)
    ax.axhline(1, color="gray", ls="--", lw=0.8)
    ax.axhline(-1, color="gray", ls="--", lw=0.8)
    ax.axvline(0, color="black", lw=0.5)
    styles = {"logistic": dict(lw=3, ls="-"), "tanh": dict(lw=3, ls="--"), "ReLU": dict(lw=2, ls=":")}
    for name, y in values.items():
        ax.plot(zs, y, label=name, **styles[name])
    ax.set_xlim(-5, 5)
    ax.set_ylim(-1.5, 1.5)
    ax.set_xlabel("net input $z$")
    ax.set_ylabel(r"activation $\phi(z)$")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "activations.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar([f"class {i}\nz={z}" for i, z in enumerate(NET_INPUTS)], p)
    ax.set_ylabel("softmax probability")
    ax.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(out / "softmax.png", dpi=120)
    plt.close(fig)
    print(f"wrote {out / 'activations.png'} and {out / 'softmax.png'}")
    return p


if __name__ == "__main__":
    main()
