"""The exercise checks accept right answers and explain wrong ones."""
import math
import subprocess
import sys

import pytest
import torch

import course_lib as cl
from course_lib import checks
from course_lib.checks import CheckFailed, check_adjoint, check_fista, check_ista, check_soft_threshold

pytestmark = pytest.mark.usefixtures("library_allowed")   # the library's references stand in for students


def as_pair(solver):
    return lambda A, y, lam, n_iter, step: (lambda r: (r[0], r[1].objective))(
        solver(A, y, lam, n_iter=n_iter, step=step))


def test_correct_implementations_pass(capsys):
    check_soft_threshold(cl.soft_threshold)
    check_ista(as_pair(cl.ista))
    check_fista(as_pair(cl.fista))
    A = cl.IntegrationOperator(10)
    check_adjoint(A.A, A.A_adjoint, (10,), "A_adjoint")
    assert capsys.readouterr().out.count("✔") == 4


@pytest.mark.parametrize("wrong, message", [
    (lambda x, lam: x, r"soft_threshold\(tensor\(\[0.5\]\), lam=1.0\) returned tensor\(\[0.5\]\)"
                       r".*\|x\| <= λ must become 0"),
    (lambda x, lam: torch.clamp(x.abs() - lam, min=0), "sign is kept"),
    (lambda x, lam: None, "forget the `return`"),
    (lambda x, lam: (torch.sign(x) * torch.clamp(x.abs() - lam, min=0)).sum(), "shape"),
    (lambda x, lam: torch.sign(x) * torch.clamp(x.abs() - lam, min=0).double() + 0 * x.double(), "dtype"),
])
def test_wrong_soft_threshold_gets_specific_feedback(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_soft_threshold(wrong)


def test_wrong_adjoint_fails_the_dot_test():
    with pytest.raises(CheckFailed, match="dot-product test failed"):
        check_adjoint(lambda x: torch.cumsum(x, -1), lambda y: torch.cumsum(y, -1), (6,), "adjoint")


def test_wrong_solvers_are_located():
    with pytest.raises(CheckFailed, match=r"objective\[\d+\].*first differ"):
        check_ista(as_pair(cl.fista))
    with pytest.raises(CheckFailed, match="n_iter \\+ 1"):
        check_ista(lambda A, y, lam, n, s: (lambda r: (r[0], r[1].objective[1:]))(cl.ista(A, y, lam, n_iter=n, step=s)))
    with pytest.raises(CheckFailed, match="pair"):
        check_fista(lambda A, y, lam, n, s: cl.fista(A, y, lam, n_iter=n, step=s)[0])


def test_unfinished_exercise_passes_through():
    def stub(x, lam):
        raise NotImplementedError("write me")
    with pytest.raises(NotImplementedError):
        check_soft_threshold(stub)


def test_lista_checks_accept_ista_and_reject_mistakes(capsys):
    from course_lib.checks import check_layers_match_ista, check_lista_init, check_lista_layer, check_nmse_below
    from course_lib.data import gaussian_matrix, sparse_signals
    from course_lib.unfolding import LISTA

    def init(A, lam):
        L = torch.linalg.matrix_norm(A, ord=2) ** 2
        return A.T / L, torch.eye(A.shape[1], dtype=A.dtype) - A.T @ A / L, lam / L

    layer = lambda x, y, W_e, W_x, theta: cl.soft_threshold(y @ W_e.T + x @ W_x.T, theta)
    check_lista_init(init)
    check_lista_layer(layer)
    A = gaussian_matrix(10, 20, seed=0)
    y = sparse_signals(4, 20, 0.2, seed=1) @ A.T
    with torch.no_grad():
        check_layers_match_ista(LISTA(A, 3, 0.1)(y, all_layers=True), A, y, 0.1)
    assert capsys.readouterr().out.count("✔") == 3
    with pytest.raises(CheckFailed, match="L = \\|\\|A\\|\\|_2\\^2"):
        check_lista_init(lambda A, lam: (A.T / torch.linalg.matrix_norm(A) ** 2, *init(A, lam)[1:]))  # Frobenius norm
    with pytest.raises(CheckFailed, match="W_e y \\+ W_x x"):
        check_lista_layer(lambda x, y, W_e, W_x, theta: cl.soft_threshold(y @ W_e.T + x, theta))  # forgot W_x
    with pytest.raises(CheckFailed, match="layer 1 differs"):
        with torch.no_grad():
            check_layers_match_ista(LISTA(A, 3, 0.2)(y, all_layers=True), A, y, 0.1)
    with pytest.raises(CheckFailed, match="at most -30.0 dB"):
        check_nmse_below(torch.zeros(3), torch.ones(3), -30.0, "zeros")


def _dip_step_reference(net, optimizer, A, y, z, input_noise, generator):
    z_k = z + input_noise * torch.randn(z.shape, generator=generator)
    out = net(z_k)[0, 0]
    loss = ((A(out) - y) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item(), out.detach()


def test_dip_checks_accept_the_reference_and_explain_mistakes(capsys):
    from course_lib.checks import check_dip_step, check_variance_detector
    from course_lib.dip import WindowedVarianceDetector

    check_variance_detector(WindowedVarianceDetector)
    check_dip_step(_dip_step_reference)
    assert capsys.readouterr().out.count("✔") == 2

    class NeverStops(WindowedVarianceDetector):            # tracks the variance but never says stop
        def update(self, k, x):
            super().update(k, x)
            return False
    with pytest.raises(CheckFailed, match="returned False; expected True"):
        check_variance_detector(NeverStops)

    class VarianceOfTheMean(WindowedVarianceDetector):     # forgets to divide by the number of pixels
        def update(self, k, x):
            stop = super().update(k, x)
            if not math.isnan(self.variances[-1]):
                self.variances[-1] *= x.numel()
            return stop
    with pytest.raises(CheckFailed, match="the variance after update"):
        check_variance_detector(VarianceOfTheMean)

    def no_zero_grad(net, optimizer, A, y, z, input_noise, generator):
        out = net(z + input_noise * torch.randn(z.shape, generator=generator))[0, 0]
        loss = ((A(out) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        return loss.item(), out.detach()
    with pytest.raises(CheckFailed, match="were they zeroed"):
        check_dip_step(no_zero_grad)

    def summed(net, optimizer, A, y, z, input_noise, generator):
        out = net(z + input_noise * torch.randn(z.shape, generator=generator))[0, 0]
        loss = ((A(out) - y) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item(), out.detach()
    with pytest.raises(CheckFailed, match="averages the squared misfit over the entries of y, it does not add them up"):
        check_dip_step(summed)

    def no_noise(net, optimizer, A, y, z, input_noise, generator):
        return _dip_step_reference(net, optimizer, A, y, z, 0.0, generator)
    with pytest.raises(CheckFailed, match="input_noise"):
        check_dip_step(no_noise)

    def output_after_the_step(net, optimizer, A, y, z, input_noise, generator):
        loss, _ = _dip_step_reference(net, optimizer, A, y, z, input_noise, generator)
        return loss, net(z)[0, 0].detach()
    with pytest.raises(CheckFailed, match="before the update"):
        check_dip_step(output_after_the_step)

    def tensor_loss(*args):
        loss, out = _dip_step_reference(*args)
        return torch.tensor(loss), out
    with pytest.raises(CheckFailed, match="Python float"):
        check_dip_step(tensor_loss)


def _gd_limit_by_iterating(M, y, c0):
    """Gradient descent itself, run to convergence: the check's closed form must agree with it."""
    c, step = c0.clone(), 1 / torch.linalg.matrix_norm(M, ord=2).item() ** 2
    for _ in range(20000):
        c = c - step * M.T @ (M @ c - y)
    return c


def test_the_linear_generator_checks_accept_right_answers_and_name_mistakes(capsys, library_allowed):
    from course_lib.checks import check_bound_factors, check_gd_limit
    from course_lib.dip import linear_generator_bound

    check_gd_limit(_gd_limit_by_iterating)
    check_gd_limit(lambda M, y, c0: c0 + torch.linalg.lstsq(M, y - M @ c0, driver="gelsd").solution)
    check_bound_factors(linear_generator_bound)
    assert capsys.readouterr().out.count("✔") == 3
    with pytest.raises(CheckFailed, match="as if gradient descent had started at 0"):
        check_gd_limit(lambda M, y, c0: torch.linalg.pinv(M) @ y)
    with pytest.raises(CheckFailed, match="direction of the first step"):
        check_gd_limit(lambda M, y, c0: M.T @ y)
    with pytest.raises(CheckFailed, match="row space of M"):         # fits the data, keeps half of the start's rest
        check_gd_limit(lambda M, y, c0: torch.linalg.pinv(M) @ y
                       + 0.5 * (torch.eye(M.shape[1], dtype=M.dtype) - torch.linalg.pinv(M) @ M) @ c0)

    def in_place(M, y, c0):
        c0 += torch.linalg.pinv(M) @ (y - M @ c0)
        return c0
    with pytest.raises(CheckFailed, match="in place"):
        check_gd_limit(in_place)

    def sigma_not_squared(J, x, k):
        W, s, _ = torch.linalg.svd(J, full_matrices=False)
        return float(((W.T @ x) ** 2 / s).sum()), float((s[k:] ** 2).sum())

    def off_by_one(J, x, k):
        return linear_generator_bound(J, x, k)[0], linear_generator_bound(J, x, min(k + 1, J.shape[0]))[1]

    def right_vectors(J, x, k):
        _, s, Vh = torch.linalg.svd(J, full_matrices=False)
        return float(((Vh[:, :x.shape[0]] @ x) ** 2 / s ** 2).sum()), float((s[k:] ** 2).sum())
    for wrong, message in [(sigma_not_squared, "divides by σ_i;"), (off_by_one, "skips σ_5"),
                           (right_vectors, "LEFT singular vectors")]:
        with pytest.raises(CheckFailed, match=message):
            check_bound_factors(wrong)


def test_the_alpha_threshold_check_accepts_the_derivation_and_names_mistakes(capsys):
    from course_lib.checks import check_alpha_threshold

    check_alpha_threshold(lambda A, k: torch.linalg.svdvals(A)[k - 1].item() ** 2 / 4)
    check_alpha_threshold(lambda A, k: sorted(torch.linalg.svd(A)[1].tolist(), reverse=True)[k - 1] ** 2 / 4)
    assert capsys.readouterr().out.count("✔") == 2
    for wrong, says in [(lambda A, k: torch.linalg.svdvals(A)[k - 1].item() / 4, "squared in σ_k"),
                        (lambda A, k: torch.linalg.svdvals(A)[k].item() ** 2 / 4 if k < 5 else 0.0, "counted from 1"),
                        (lambda A, k: torch.diagonal(A)[k - 1].item() ** 2 / 4, "expected"),
                        (lambda A, k: torch.linalg.svdvals(A)[k - 1].item() ** 2, r"1 / \(2√α\)")]:
        with pytest.raises(CheckFailed, match=says):
            check_alpha_threshold(wrong)


def test_every_check_is_exported_and_needs_no_jupyter():
    modules = [checks.core, checks.lecture01, checks.lecture02, checks.lecture03, checks.lecture04, checks.lecture05,
               checks.lecture06, checks.lecture07]
    boundary = ["Build", "student", "StudentError", "ForbiddenError", "check_own_work"]   # how hidden tests call
    assert sorted(checks.__all__) == sorted([name for module in modules for name in module.__all__] + boundary)
    assert all(getattr(checks, name) is getattr(module, name) for module in modules for name in module.__all__)
    assert checks.describe(torch.tensor([1.0, 2.0])) == "tensor([1.0, 2.0])"
    code = ("import sys, course_lib, course_lib.checks; "
            "print([m for m in sys.modules if m.startswith(('nbformat', 'jupyter', 'course_lib.tools'))])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def legall(x, even_first=True, predict_first=True, sign=-1.0):
    from course_lib.checks.lecture04 import _legall
    return _legall(x, even_first, predict_first, sign)


def unlift_legall(s, d):
    from course_lib.lifting import LEGALL_53, unlift
    return unlift(torch.cat([s * LEGALL_53.scale_even, d * LEGALL_53.scale_odd], dim=-1), LEGALL_53)


def test_lecture_04_checks_accept_the_library_and_name_the_mistakes(capsys):
    from course_lib import pnp
    from course_lib.checks import check_hqs, check_lifting_step, check_wavelet_denoiser
    from course_lib.lifting import detail_mask, wavelet_denoise

    check_lifting_step(legall, unlift_legall)
    check_wavelet_denoiser(wavelet_denoise)
    check_hqs(lambda A, y, denoiser, schedule: pnp.hqs(A, y, denoiser, schedule)[0])
    assert capsys.readouterr().out.count("✔") == 3
    for wrong, message in [(lambda x: legall(x, predict_first=False), "wrong order"),
                           (lambda x: legall(x, sign=1.0), "must be subtracted"),
                           (lambda x: legall(x)[::-1], r"\(s\)|\(d\)|shape"),
                           (lambda x: legall(x)[0], "pair")]:
        with pytest.raises(CheckFailed, match=message):
            check_lifting_step(wrong, unlift_legall)
    with pytest.raises(CheckFailed, match="reverse order"):
        from course_lib.checks.lecture04 import _undo_in_forward_order
        from course_lib.lifting import merge
        check_lifting_step(legall, lambda s, d: merge(*_undo_in_forward_order(s, d)))

    def everything(y, W, t):
        c = W(y)
        return W.inverse(cl.soft_threshold(c, t))

    with pytest.raises(CheckFailed, match="approximation"):
        check_wavelet_denoiser(everything)
    with pytest.raises(CheckFailed, match="its adjoint does not undo it"):
        check_wavelet_denoiser(lambda y, W, t: W.A_adjoint(torch.where(detail_mask(W), cl.soft_threshold(W(y), t),
                                                                      W(y))))
    with pytest.raises(CheckFailed, match="the details .only. shrunk"):
        check_wavelet_denoiser(lambda y, W, t: W.A_adjoint(W(y)))

    def denoise_first(A, y, denoiser, schedule):
        z = A.A_adjoint(y)
        for mu, sigma in schedule:
            z = pnp.data_step(A, y, denoiser(z, sigma), mu)
        return z

    with pytest.raises(CheckFailed, match="you denoise before the data step"):
        check_hqs(denoise_first)


def test_lista_network_and_cp_checks_accept_the_library_and_name_mistakes(capsys):
    from course_lib.checks import check_lista_cp_layer, check_lista_network
    from course_lib.unfolding import LISTA, lista_layer

    check_lista_network(LISTA)
    check_lista_network(LISTA, tied=True)
    check_lista_cp_layer(lambda x, y, A, W, theta: cl.soft_threshold(x + (y - x @ A.T) @ W, theta))
    assert capsys.readouterr().out.count("✔") == 5          # two networks (each with its ISTA line) and the layer

    class Floats(LISTA):
        def forward(self, y, all_layers=False):
            layers = super().forward(y, all_layers=True)
            return [float(o.sum()) for o in layers] if all_layers else layers[-1]

    class OneCopy(LISTA):                                   # untied by name, one shared copy in fact
        def __init__(self, A, n_layers, lam, tied=False):
            super().__init__(A, n_layers, lam, tied=True)

    class Unused(LISTA):                                    # a copy per layer, but every layer uses the first
        def layer(self, k, x, y):
            return lista_layer(x, y, self.W_e[0], self.S[0], self.theta[k])

    class IgnoresTied(LISTA):                               # a copy per layer even when asked to tie them
        def __init__(self, A, n_layers, lam, tied=False):
            super().__init__(A, n_layers, lam)

    with pytest.raises(CheckFailed, match="expected tensors"):
        check_lista_network(Floats)
    with pytest.raises(CheckFailed, match="its own copy"):
        check_lista_network(OneCopy)
    with pytest.raises(CheckFailed, match="never reaches the weights"):
        check_lista_network(Unused)
    with pytest.raises(CheckFailed, match="keeps one W_e and one W_x"):
        check_lista_network(IgnoresTied, tied=True)
    with pytest.raises(CheckFailed, match="A learned W is not A/L"):
        check_lista_cp_layer(lambda x, y, A, W, theta: cl.soft_threshold(
            x + (y - x @ A.T) @ (A / torch.linalg.matrix_norm(A, ord=2) ** 2), theta))


def test_checks_that_build_networks_leave_the_notebooks_global_rng_alone(capsys):
    """A student's notebook fixes its seeds once: running a check (which builds networks, the student's among them,
    from the global RNG) must not move that state, or the cells after it would draw other numbers."""
    from torch import nn
    from torch.nn import functional as F

    from course_lib import geometry
    from course_lib.checks import check_dip_step, check_local_linear_map, check_residual_block, check_unroll

    class Block(nn.Module):                                # a student's block: its layers draw their initialisation
        def __init__(self, width, skip=True):
            super().__init__()
            self.skip = skip
            self.conv1, self.conv2 = nn.Conv2d(width, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1)
            self.bn1, self.bn2 = nn.BatchNorm2d(width), nn.BatchNorm2d(width)

        def forward(self, x):
            inner = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            return F.relu(x + inner) if self.skip else F.relu(inner)

    class Plain(Block):
        def __init__(self, width):
            super().__init__(width, skip=False)

    runs = {"check_residual_block": lambda: check_residual_block(Block, Plain),
            "check_unroll": lambda: check_unroll(cl.architectures.unroll),
            "check_local_linear_map": lambda: check_local_linear_map(geometry.local_linear_map),
            "check_dip_step": lambda: check_dip_step(_dip_step_reference)}
    torch.manual_seed(123)
    for name, run in runs.items():
        state = torch.get_rng_state()
        run()
        assert torch.equal(torch.get_rng_state(), state), f"{name} changed the global RNG state"
    assert capsys.readouterr().out.count("✔") == len(runs)


def test_a_wrong_value_of_the_right_shape_is_not_called_a_shape_error_and_a_crash_names_its_input():
    from course_lib.checks import call_student, check_close

    expected = torch.zeros(3, 5)
    wrong = expected.clone()
    wrong[1, 4] = 0.5
    with pytest.raises(CheckFailed) as failure:
        check_close(wrong, expected, "f(x of shape (3, 5))", "d_i = o_i - (e_i + e_{i+1}) / 2")
    said = str(failure.value)
    assert "has the right shape (3, 5) but other values: 1 of its 15 entries differ, most at index (1, 4)" in said
    assert "0.5 instead of 0" in said and "d_i = o_i" in said, "a rule that starts with a symbol keeps its case"

    def crashes(x):
        raise IndexError("out of range")

    with pytest.raises(CheckFailed, match=r"f\(x of length 11\) raised IndexError: out of range. Odd lengths"):
        call_student(crashes, "f(x of length 11)", torch.zeros(11), hint="Odd lengths have one more even sample")

    def stub(x):
        raise NotImplementedError("write f")

    with pytest.raises(NotImplementedError, match="write f"):                  # a stub still in place, untouched
        call_student(stub, "f(x)", torch.zeros(2))
