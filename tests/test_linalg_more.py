"""tf.linalg's decompositions and solvers (nnplug/ops/linalg_more.py): values against float64 NumPy
(reconstructions and defining identities, not the same LAPACK call), gradients by finite differences on
losses that do not depend on the decompositions' sign choices."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError
from nnplug.testing import assert_close, check_gradient, run

HOST = "numpy"
RNG = np.random.default_rng(0)
A43 = RNG.standard_normal((4, 3))
A34 = RNG.standard_normal((3, 4))
W = RNG.standard_normal((4, 4))
SPD = A43.T @ A43 + np.eye(3)


def _eval(t):
    with tf.Session() as s:
        return s.run(t)


def test_svd_reconstructs_and_orders():
    batch = RNG.standard_normal((2, 4, 3))
    s, u, v = run(lambda a: list(tf.svd(a)), [batch], HOST)
    assert_close(np.einsum("bik,bk,bjk->bij", u, s, v), batch, "float64")
    assert_close(np.einsum("bki,bkj->bij", u, u), np.broadcast_to(np.eye(3), (2, 3, 3)), "float64")
    assert np.all(np.diff(s, axis=-1) <= 0)
    assert_close(s, np.sqrt(np.linalg.eigvalsh(np.swapaxes(batch, 1, 2) @ batch)[:, ::-1]), "float64")
    full = _eval(tf.linalg.svd(tf.constant(A43), full_matrices=True))
    assert full[1].shape == (4, 4) and full[2].shape == (3, 3)
    assert _eval(tf.linalg.svd(tf.constant(A43), compute_uv=False)).shape == (3,)


@pytest.mark.parametrize("a", [A43, A34], ids=["tall", "wide"])
def test_svd_gradient(a):
    m, n = a.shape
    k = min(m, n)
    wu, wv, ws = W[:m, :k], W[:n, :k], W[0, :k]

    def loss(x):  # u * u and v * v do not change when a singular vector flips sign
        s, u, v = tf.svd(x)
        return tf.reduce_sum(s * ws) + tf.reduce_sum(u * u * wu) + tf.reduce_sum(v * v * wv)
    check_gradient(loss, [a], HOST)
    check_gradient(lambda x: tf.svd(x, compute_uv=False), [a], HOST)


def test_eigh_values_vectors_and_gradient():
    e, v = _eval(tf.linalg.eigh(tf.constant(SPD)))
    assert_close(SPD @ v, v * e, "float64")
    assert_close(e, np.sort(np.linalg.eigvals(SPD).real), "float64")
    assert_close(_eval(tf.self_adjoint_eigvals(tf.constant(SPD))), e, "float64")

    def loss(x):  # the kernel reads the lower triangle: a symmetric input's gradient is checked through it
        vals, vecs = tf.self_adjoint_eig(x)
        return tf.reduce_sum(vals * W[0, :3]) + tf.reduce_sum(vecs * vecs * W[:3, :3])
    check_gradient(loss, [SPD], HOST)
    lower_only = np.tril(SPD) + np.triu(RNG.standard_normal((3, 3)), 1)  # the upper triangle is ignored
    assert_close(_eval(tf.linalg.eigvalsh(lower_only)), e, "float64")


def test_slogdet_logdet_and_gradients():
    neg = A43[:3].copy()
    sign, logabs = _eval(tf.linalg.slogdet(tf.constant(neg)))
    det = np.linalg.det(neg)
    assert sign == np.sign(det) and abs(logabs - np.log(abs(det))) < 1e-12
    huge = np.eye(3) * 1e200  # the determinant overflows; its log does not
    assert abs(_eval(tf.linalg.slogdet(tf.constant(huge)))[1] - 600 * np.log(10)) < 1e-9
    assert abs(_eval(tf.linalg.logdet(tf.constant(SPD))) - np.log(np.linalg.det(SPD))) < 1e-12
    check_gradient(lambda x: tf.linalg.slogdet(x)[1], [neg], HOST)
    check_gradient(lambda x: tf.linalg.logdet((x + tf.transpose(x)) * 0.5), [SPD], HOST)


def test_triangular_and_cholesky_solves_with_gradients():
    t = np.tril(RNG.standard_normal((3, 3))) + 3 * np.eye(3)
    b = RNG.standard_normal((3, 2))
    junk = t + np.triu(np.ones((3, 3)), 1) * 100  # never read
    got = _eval([tf.matrix_triangular_solve(junk, b), tf.linalg.triangular_solve(junk.T, b, lower=False),
                 tf.linalg.triangular_solve(junk, b, adjoint=True)])
    assert_close(t @ got[0], b, "float64")
    assert_close(t.T @ got[1], b, "float64")
    assert_close(t.T @ got[2], b, "float64")
    chol = np.linalg.cholesky(SPD)
    assert_close(SPD @ _eval(tf.cholesky_solve(chol, b)), b, "float64")
    for lower in (True, False):
        for adjoint in (True, False):
            m = t if lower else t.T
            check_gradient(lambda x, y: tf.linalg.triangular_solve(x, y, lower=lower, adjoint=adjoint), [m, b], HOST)
    check_gradient(lambda c, y: tf.linalg.cholesky_solve(c, y), [chol, b], HOST)


def test_lstsq_pinv_and_rank():
    b = RNG.standard_normal((4, 2))
    x = _eval(tf.matrix_solve_ls(A43, b))
    assert_close(A43.T @ (A43 @ x - b), np.zeros((3, 2)), "float64", atol=1e-12)  # the normal equations
    ridge = _eval(tf.linalg.lstsq(A43, b, l2_regularizer=0.5))
    assert_close((A43.T @ A43 + 0.5 * np.eye(3)) @ ridge, A43.T @ b, "float64")
    wide = _eval(tf.linalg.lstsq(A34, b[:3]))  # minimum-norm solution of the under-determined system
    assert_close(A34 @ wide, b[:3], "float64")
    assert_close(wide, A34.T @ np.linalg.solve(A34 @ A34.T, b[:3]), "float64")
    check_gradient(lambda a, y: tf.linalg.lstsq(a, y, l2_regularizer=0.1), [A43, b], HOST)
    p = _eval(tf.linalg.pinv(A43))
    assert_close(A43 @ p @ A43, A43, "float64")  # two of Penrose's conditions
    assert_close(p @ A43 @ p, p, "float64")
    assert_close(p @ A43, np.eye(3), "float64")
    check_gradient(tf.linalg.pinv, [A43], HOST)
    rank1 = np.outer([1.0, 2.0, 3.0], [1.0, -1.0])
    assert _eval([tf.linalg.matrix_rank(rank1), tf.linalg.matrix_rank(A43), tf.linalg.matrix_rank(np.zeros((2, 2)))]) \
        == [1, 3, 0]


def test_lu_and_lu_solve():
    a = RNG.standard_normal((4, 4))
    lu, perm = _eval(tf.linalg.lu(a))
    lower, upper = np.tril(lu, -1) + np.eye(4), np.triu(lu)
    assert_close(lower @ upper, a[perm], "float64")
    assert sorted(perm.tolist()) == [0, 1, 2, 3] and np.all(np.abs(np.tril(lu, -1)) <= 1 + 1e-12)  # partial pivoting
    b = RNG.standard_normal((4, 2))
    x = _eval(tf.linalg.lu_solve(*tf.linalg.lu(a), b))
    assert_close(a @ x, b, "float64")


def test_expm_against_its_series_and_known_values():
    small = RNG.standard_normal((3, 3)) * 0.3
    series, term = np.eye(3), np.eye(3)
    for k in range(1, 30):
        term = term @ small / k
        series = series + term
    assert_close(_eval(tf.linalg.expm(small)), series, "float64")
    rot = np.array([[0.0, -2.0], [2.0, 0.0]]) * 10  # exp of a rotation generator: cos/sin, after squarings
    assert_close(_eval(tf.linalg.expm(rot)), np.array([[np.cos(20), -np.sin(20)], [np.sin(20), np.cos(20)]]),
                 "float64", rtol=1e-10, atol=1e-10)
    assert_close(_eval(tf.linalg.expm(np.zeros((2, 2, 2)))), np.broadcast_to(np.eye(2), (2, 2, 2)), "float64")


def test_small_compositions(backend):
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    cross, mv, adj = run(lambda x, y: [tf.cross(x, y), tf.linalg.matvec(tf.constant(A43), x[0]),
                                       tf.linalg.adjoint(x)], [a, b], backend)
    assert_close(cross, np.cross(a, b), "float64")
    assert_close(mv, A43 @ a[0], "float64")
    assert_close(adj, a.T, "float64")
    check_gradient(tf.cross, [a, b], backend)
    unit, norm = _eval(tf.linalg.normalize(tf.constant(a), axis=1))
    assert_close(norm, np.linalg.norm(a, axis=1, keepdims=True), "float64")
    assert_close(unit, a / norm, "float64")
    d = np.arange(1.0, 7.0).reshape(2, 3)
    diag = _eval(tf.linalg.tensor_diag(d))
    assert diag.shape == (2, 3, 2, 3) and diag[1, 2, 1, 2] == 6 and diag.sum() == d.sum()
    assert _eval(tf.linalg.tensor_diag_part(diag)).tolist() == d.tolist()
    assert abs(_eval(tf.linalg.global_norm([a, b])) - np.sqrt((a ** 2).sum() + (b ** 2).sum())) < 1e-12
    assert_close(_eval(tf.linalg.einsum("ij,jk->ik", a, A43[:3])), a @ A43[:3], "float64")


def test_bad_input_names_the_op():
    with pytest.raises(InvalidArgumentError, match="Cholesky|not positive"):
        _eval(tf.linalg.logdet(-np.eye(2)))
    with pytest.raises(NotImplementedError, match="full_matrices=True needs a square matrix"):
        s, u, v = tf.svd(tf.constant(A43), full_matrices=True)
        tf.gradients(tf.reduce_sum(u), s.op.inputs[0])


def test_lu_reconstruct_and_inverse():
    a = RNG.standard_normal((4, 4))
    lu, perm = tf.linalg.lu(tf.constant(a))
    back, inv = _eval([tf.linalg.lu_reconstruct(lu, perm), tf.linalg.lu_matrix_inverse(lu, perm)])
    assert_close(back, a, "float64")
    assert_close(inv @ a, np.eye(4), "float64")
