"""Batch-first, as the README promises: for every function of ``utils.BATCH_FIRST``, a batch gives what its items
give one by one (to ``RTOL`` for the iterative routines whose batch shares a step size computed once)."""
import pytest
import torch

import course_lib as cl
from course_lib import architectures, functionals, geometry, lifting, operators, pnp, prox, solvers, unfolding
from course_lib.utils import BATCH_FIRST, ONE_PROBLEM

N = 3        # items in a batch


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=gen(seed), dtype=torch.float64)


def elementwise(fn):
    return lambda: (randn(N, 5, 7), fn)


def integration_problem():
    A = operators.IntegrationOperator(32).double()
    return A, A(randn(N, 32).cumsum(-1) / 10)


def blur_problem():
    A = operators.Convolution2D(operators.gaussian_kernel(1.0, 5, dtype=torch.float64), (16, 16), padding="circular")
    return A, A(randn(N, 16, 16))


def example_operators():
    ops = [operators.IntegrationOperator(20), operators.MatrixOperator(randn(6, 20)),
           operators.Convolution1D(randn(5), 20), operators.Inpainting(randn(20) > 0),
           operators.SubsampledFourier(randn(8, 8) > 0), blur_problem()[0],
           lifting.WaveletTransform((16, 16), "legall53", levels=2)]
    return [op.double() for op in ops]


def operator_example():
    """Every operator's A and A* at once: the batch holds, per item, one input of each operator, flattened."""
    ops = example_operators()
    sizes = [op.in_shape.numel() if hasattr(op.in_shape, "numel") else int(torch.tensor(op.in_shape).prod())
             for op in ops]

    def apply_all(flat):
        outputs = []
        for op, part in zip(ops, flat.split(sizes, dim=-1)):
            x = part.reshape(*flat.shape[:-1], *op.in_shape)
            x = x.to(torch.complex128) if op.complex_domain else x
            outputs += [torch.view_as_real(v.to(torch.complex128)).reshape(*flat.shape[:-1], -1)
                        for v in (op(x), op.A_adjoint(op(x)))]
        return torch.cat(outputs, dim=-1)

    return randn(N, sum(sizes)), apply_all


def tv_denoiser_example():
    return randn(N, 16, 16) * 0.2 + torch.linspace(0, 1, 16, dtype=torch.float64), \
        lambda v: pnp.tv_denoiser(1.0)(v, 0.1)


def lista_example(cls):
    A = torch.randn(10, 20, generator=gen(2)) / 10 ** 0.5
    net = cls(A, n_layers=4, regulariser=0.05)
    return torch.randn(N, 10, generator=gen(3)), lambda y: net(y)


def nonnegative_example():
    psfs = cl.data.light_field_psfs(n_views=3, n_depths=2, size=5)
    H = operators.MultiChannelConvolution2D(psfs, (12, 12))
    net = unfolding.NonnegativeUnfoldedISTA(H, n_layers=3)
    return H(torch.rand(N, 2, 12, 12, generator=gen(4))), lambda y: net(y)


def lifting_network_example():
    net = lifting.LiftingNetwork(levels=2, hidden=4, shrinkage_hidden=4).eval()
    return torch.rand(N, 1, 16, 16, generator=gen(5)), lambda y: net.denoise(y, 0.1)


def wavelet_example(fn):
    W = lifting.WaveletTransform((16, 16), "legall53", levels=2).double()
    return randn(N, 16, 16), lambda y: fn(y, W)


def pnp_example(method):
    A, y = blur_problem()
    W = lifting.WaveletTransform((16, 16), "haar", levels=2).double()
    schedule = pnp.penalty_schedule(0.05, 4)
    return y, lambda y_: method(A, y_, pnp.wavelet_denoiser(W), schedule)[0]


def solver_example(call, problem=integration_problem):
    A, y = problem()
    return y, lambda y_: call(A, y_)


#: name in BATCH_FIRST: () -> (a batch of N items, the call), and the relative tolerance
EXAMPLES = {
    "operators.LinearOperator": (operator_example, 0),
    "prox.soft_threshold": (elementwise(lambda x: prox.soft_threshold(x, 0.3)), 0),
    "prox.soft_threshold_nonnegative": (elementwise(lambda x: prox.soft_threshold_nonnegative(x, 0.3)), 0),
    "prox.project_nonnegative": (elementwise(prox.project_nonnegative), 0),
    "prox.project_box": (elementwise(lambda x: prox.project_box(x, -0.5, 0.5)), 0),
    "prox.prox_squared_l2": (elementwise(lambda x: prox.prox_squared_l2(x, 0.3)), 0),
    "prox.singular_value_threshold": (elementwise(lambda x: prox.singular_value_threshold(x, 0.5)), 1e-12),
    "functionals.L1.prox": (elementwise(lambda x: functionals.L1(0.3).prox(x, 1.0)), 0),
    "functionals.NonnegativeL1.prox": (elementwise(lambda x: functionals.NonnegativeL1(0.3).prox(x, 1.0)), 0),
    "functionals.SquaredL2.prox": (elementwise(lambda x: functionals.SquaredL2(0.3).prox(x, 1.0)), 0),
    "functionals.Box.prox": (elementwise(lambda x: functionals.Box(-0.5, 0.5).prox(x, 1.0)), 0),
    "functionals.TotalVariation.prox": (elementwise(lambda x: functionals.TotalVariation(0.3, ndim=2).prox(x)), 1e-12),
    "solvers.gradient_descent": (lambda: solver_example(lambda A, y: solvers.gradient_descent(A, y, 0.01, 20)[0]),
                                 1e-12),
    "solvers.landweber": (lambda: solver_example(lambda A, y: solvers.landweber(A, y, 20)[0]), 1e-12),
    "solvers.tikhonov": (lambda: solver_example(lambda A, y: solvers.tikhonov(A, y, 0.01)), 1e-10),
    "solvers.ista_step": (lambda: solver_example(lambda A, y: solvers.ista_step(A.A_adjoint(y), A, y, 0.01, 0.1)), 0),
    "solvers.ista": (lambda: solver_example(lambda A, y: solvers.ista(A, y, 0.001, n_iter=30)[0]), 1e-12),
    "solvers.fista": (lambda: solver_example(lambda A, y: solvers.fista(A, y, 0.001, n_iter=30)[0]), 1e-12),
    "solvers.casorati": (lambda: (randn(N, 4, 3, 5), solvers.casorati), 0),
    "solvers.robust_pca": (lambda: (randn(N, 12, 6),
                                    lambda D: torch.cat(solvers.robust_pca(D, 0.5, 0.1, 20)[0], dim=-1)),
                           1e-10),
    "lifting.lift": (lambda: (randn(N, 16), lifting.lift), 0),
    "lifting.unlift": (lambda: (randn(N, 16), lifting.unlift), 0),
    "lifting.keep_largest": (elementwise(lambda c: lifting.keep_largest(c, 0.5)), 0),
    "lifting.wavelet_denoise": (lambda: wavelet_example(lambda y, W: lifting.wavelet_denoise(y, W, 0.3)), 1e-12),
    "lifting.LiftingNetwork.denoise": (lifting_network_example, 1e-5),
    "pnp.data_step": (lambda: solver_example(lambda A, y: pnp.data_step(A, y, A.A_adjoint(y), 0.1)), 1e-12),
    "pnp.hqs": (lambda: pnp_example(pnp.hqs), 1e-10),
    "pnp.admm": (lambda: pnp_example(pnp.admm), 1e-10),
    "pnp.wavelet_denoiser": (lambda: wavelet_example(lambda y, W: pnp.wavelet_denoiser(W)(y, 0.2)), 1e-12),
    "pnp.tv_denoiser": (tv_denoiser_example, 1e-12),
    "architectures.circular_convolution": (lambda: (randn(N, 16), lambda x: architectures.circular_convolution(
        x, torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64))), 1e-15),
    "geometry.hankel": (lambda: (randn(N, 16), lambda x: geometry.hankel(x, 4)), 0),
    "geometry.hankel_adjoint": (lambda: (randn(N, 16, 4), geometry.hankel_adjoint), 1e-15),
    "unfolding.LISTA": (lambda: lista_example(unfolding.LISTA), 1e-6),
    "unfolding.LISTA_CP": (lambda: lista_example(unfolding.LISTA_CP), 1e-6),
    "unfolding.ALISTA": (lambda: lista_example(unfolding.ALISTA), 1e-6),
    "unfolding.NonnegativeUnfoldedISTA": (nonnegative_example, 1e-5),
}


def test_every_batch_first_function_has_an_example_and_exists():
    assert set(EXAMPLES) == set(BATCH_FIRST), "tests/test_batches.py and utils.BATCH_FIRST list other functions"
    for name in list(BATCH_FIRST) + list(ONE_PROBLEM):
        obj = cl
        for part in name.split("."):
            obj = getattr(obj, part)            # raises when the registry names something that is not there
        assert callable(obj)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_batch_is_its_items_one_by_one(name):
    make, rtol = EXAMPLES[name]
    torch.manual_seed(0)
    batch, call = make()
    together = call(batch)
    alone = torch.stack([call(item.unsqueeze(0)).squeeze(0) for item in batch])
    assert together.shape == alone.shape, (f"{name}: a batch gives {tuple(together.shape)}, "
                                           f"its items {tuple(alone.shape)}")
    assert together.real.dtype == batch.dtype, f"{name}: {batch.dtype} in, {together.dtype} out (the dtype follows)"
    scale = alone.abs().max().clamp(min=1e-30)
    error = ((together - alone).abs().max() / scale).item()
    assert error <= max(rtol, 4 * torch.finfo(together.real.dtype).eps), \
        f"{name}: a batch differs from its items done one by one by {error:.2e} (relative); allowed {rtol:g}"


def test_conjugate_gradient_solves_a_batch_as_one_system():
    """Exempt on purpose: a batch is one system (the README and the docstring say so)."""
    assert "a batch is one big system" in " ".join(pnp.conjugate_gradient.__doc__.split())
    M = torch.diag(torch.arange(1.0, 6.0, dtype=torch.float64))
    b = randn(2, 5)
    x, history = pnp.conjugate_gradient(lambda v: v @ M, b, n_iter=10, tol=1e-14)
    torch.testing.assert_close(x @ M, b)
    assert history.converged
