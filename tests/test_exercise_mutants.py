"""Typical wrong solutions fail their exercise's graded tests (visible part and hidden part), each with a message
that says what broke.

Each case changes one thing in a solution cell of a solution notebook (an operator swapped, a term dropped, a
comparison loosened, a constant nudged), runs the notebook's set-up and solution cells and then the graded test
cell of that exercise, hidden tests included, in one namespace (``student`` calls the notebook's own functions,
as when an instructor runs the solution notebook). The test cell must fail, with the expected words.
"""
import json
import pathlib

import matplotlib
import pytest
import torch

from course_lib.checks import boundary

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _notebook_state_stays_here():
    """The notebooks' set-up (cl.setup_notebook) flushes denormals and sets the threads for the whole process: put both
    back, or later tests (hypothesis's float strategies) run on a changed processor state."""
    threads = torch.get_num_threads()
    yield
    torch.set_flush_denormal(False)
    torch.set_num_threads(threads)


@pytest.fixture
def namespace(monkeypatch):
    """The notebook's globals; ``student`` calls the functions defined in it."""
    globals_ = {"__name__": "__main__"}
    monkeypatch.setattr(boundary, "_notebook_namespace", lambda: globals_)
    return globals_

ROOT = pathlib.Path(__file__).resolve().parents[1]
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### HINT", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")

# (notebook, solution cell's grade_id, text in the solution, its mutant, words the failure must contain[, the test
# cell's grade_id when it is not test_<grade_id>])
MUTANTS = [
    ("03_deep_unfolding", "lista_init", "matrix_norm(A, ord=2)", "matrix_norm(A)", "L = ||A||_2^2"),
    ("03_deep_unfolding", "lista_layer", "x @ W_x.T", "x @ W_x", "W_x not symmetric"),
    ("03_deep_unfolding", "StudentLISTA", "copies = 1 if tied else n_layers", "copies = 1 if tied else n_layers + 1",
     "learnable numbers; expected 4 x (m n + n^2) + 4"),
    ("03_deep_unfolding", "StudentLISTA", "i = 0 if self.tied else k", "i = 0", "never reaches the weights"),
    ("03_deep_unfolding", "StudentLISTA", "return outputs if all_layers", "return outputs[1:] if all_layers",
     "x_0 = 0 included"),
    ("03_deep_unfolding", "StudentLISTA", "return outputs if all_layers else x", "return outputs",
     "not the list"),
    ("03_deep_unfolding", "StudentLISTA", "copies = 1 if tied else n_layers", "copies = n_layers",
     "one W_e and one W_x", "test_tied"),
    ("03_deep_unfolding", "lista_cp_layer", "(y - x @ A.T) @ W",
     "(y - x @ A.T) @ (A / torch.linalg.matrix_norm(A, ord=2) ** 2)", "A learned W is not A/L"),
    ("03_deep_unfolding", "lista_cp_layer", "x + (y - x @ A.T) @ W", "(y - x @ A.T) @ W", "adds W^T (y - A x) to x"),
    ("01_inverse_problems", "ista", "A.A_adjoint(A(x) - y), step * lam)", "A.A_adjoint(A(x) - y), lam)",
     "the threshold is lam"),
    ("01_inverse_problems", "ista", "soft_threshold(x - step * A.A_adjoint(", "soft_threshold(x + step * A.A_adjoint(",
     "goes uphill"),
    ("01_inverse_problems", "fista", "z = x_new + (t - 1) / t_new * (x_new - x)",
     "z = x_new + (t - 1) / t * (x_new - x)", "momentum weight"),
    ("01_inverse_problems", "alphas_blur", 'blur["delta"], blur["alphas"])', 'blur["delta"], blur["alphas"], 1.0)',
     "not the α the discrepancy principle picks"),
    ("01_inverse_problems", "alphas_blur", "alpha_best_blur = min(errors_b, key=errors_b.get)",
     "alpha_best_blur = max(errors_b, key=errors_b.get)", "nearest the truth"),
    ("01_inverse_problems", "why_larger", 'why_larger = "b"', 'why_larger = "d"', "not the reason"),
    ("01_inverse_problems", "why_larger", 'why_larger = "b"', 'why_larger = "e"', "one of the letters a, b, c, d"),
    ("01_inverse_problems", "tikhonov_svd", "s / (s ** 2 + alpha)", "1 / s", "naive inverse"),
    ("01_inverse_problems", "tikhonov_svd", "s / (s ** 2 + alpha)", "1 / (s + alpha)", "1/(σ_k + α)"),
    ("01_inverse_problems", "tikhonov_svd", "V @ (s / (s ** 2 + alpha) * (U.T @ y))",
     "U @ (s / (s ** 2 + alpha) * (V.T @ y))", "swapped or transposed"),
    ("01_inverse_problems", "discrepancy_alpha", "float(max(admissible))", "float(min(admissible))",
     "smallest admissible"),
    ("01_inverse_problems", "discrepancy_alpha", "<= tau * delta]", "<= delta]", "compare the residual with δ"),
    ("05_geometry", "encoder_decoder", "torch.zeros_like(coefficients[..., half:])", "coefficients[..., half:]",
     "zero the second half"),
    ("05_geometry", "encoder_decoder", "return unlift(coefficients)", "return 2 ** 0.5 * unlift(coefficients)",
     "rescaled"),
    ("05_geometry", "encoder_decoder", "coefficients[..., :half], torch.zeros_like(coefficients[..., half:])",
     "torch.zeros_like(coefficients[..., :half]), coefficients[..., half:]", "dropped the approximation"),
    ("05_geometry", "skip_decoder", "return v - projected / 2", "return v / 2", "adds (or averages)"),
    ("05_geometry", "skip_decoder", "return v - projected / 2", "return v - projected / 3", "perfect reconstruction"),
    ("05_geometry", "skip_decoder", "return v - projected / 2", "return skip", "returned the skip branch"),
    ("05_geometry", "local_linear_map", "active = (h > 0)", "active = (layer(h) >= 0)", "every unit as active"),
    ("05_geometry", "local_linear_map", "weight @ b + layer.bias.to(x.dtype)", "weight @ b", "the offset b is not"),
    ("06_deep_image_prior", "variance_detector", "if variance < self.best_variance:",
     "if variance <= self.best_variance:", "(strict) minimum"),
    ("06_deep_image_prior", "variance_detector", ".sum(1).mean().item() / stack.shape[1]", ".sum(1).mean().item()",
     "the variance after update"),
    ("06_deep_image_prior", "variance_detector", "return iteration - self.best_iteration >= self.patience",
     "return iteration - self.best_iteration > self.patience", "returned False; expected True"),
    ("06_deep_image_prior", "variance_detector", "if len(self.buffer) > self.window:",
     "if len(self.buffer) > self.window + 1:", "the variance after update"),
    ("04_wavelets_lifting", "lifting_step", """    right = torch.clamp(torch.arange(no) + 1, max=ne - 1)
    d = o - 0.5 * (e[..., :no] + e[..., right])
    left = torch.clamp(torch.arange(ne) - 1, min=0, max=no - 1)
    here = torch.clamp(torch.arange(ne), max=no - 1)
""", """    right = (torch.arange(no) + 1) % ne
    d = o - 0.5 * (e[..., :no] + e[..., right])
    left = (torch.arange(ne) - 1) % no
    here = torch.arange(ne) % no
""", "wraps around to the other end (periodic)"),
    ("04_wavelets_lifting", "lifting_step", """    right = torch.clamp(torch.arange(no) + 1, max=ne - 1)
    d = o - 0.5 * (e[..., :no] + e[..., right])
    left = torch.clamp(torch.arange(ne) - 1, min=0, max=no - 1)
    here = torch.clamp(torch.arange(ne), max=no - 1)
    s = e + 0.25 * (d[..., left] + d[..., here])
""", """    padded = torch.cat([e, torch.zeros_like(e[..., :1])], -1)
    d = o - 0.5 * (e[..., :no] + padded[..., 1:no + 1])
    zero = torch.zeros_like(d[..., :1])
    d_padded = torch.cat([zero, d, zero], -1)
    s = e + 0.25 * (d_padded[..., :ne] + d_padded[..., 1:ne + 1])
""", "counts as 0 (zero padding)"),
    ("04_wavelets_lifting", "lifting_step", "    return s, d\n", "    return s * 2 ** 0.5, d / 2 ** 0.5\n",
     "scaled by √2 and 1/√2"),
    ("04_wavelets_lifting", "lifting_step", "e[..., right])\n    left", "e[..., 1:])\n    left",
     "must work for every length; this is an even length"),
    ("04_wavelets_lifting", "wavelet_denoise", "torch.where(detail_mask(W), cl.soft_threshold(c, threshold), c)",
     "cl.soft_threshold(c, threshold)", "also shrank the coarse approximation"),
    ("04_wavelets_lifting", "hqs", "        z = denoiser(x, sigma)\n    return z",
     "        z = denoiser(x, sigma)\n    return x", "you return the data step's image"),
    ("04_wavelets_lifting", "hqs", "x = pnp.data_step(A, y, z, mu)\n        z = denoiser(x, sigma)",
     "x = pnp.data_step(A, y, z, sigma)\n        z = denoiser(x, mu)", "mu and sigma are swapped"),
    ("04_wavelets_lifting", "hqs", "z = A.A_adjoint(y)", "z = y", "its start included, has 8 entries"),
    ("04_wavelets_lifting", "hqs", "z = A.A_adjoint(y)", "z = torch.zeros_like(A.A_adjoint(y))",
     "start from the back-projection"),
    ("04_wavelets_lifting", "threshold_study", "best_threshold = max(quality, key=quality.get)",
     "best_threshold = min(quality, key=quality.get)", "not the threshold of the grid with the highest PSNR",
     "test_best_threshold"),
    ("04_wavelets_lifting", "threshold_study",
     'universal = study["sigma"] * math.sqrt(2 * math.log(study["x"].numel()))', 'universal = study["sigma"]',
     "compare your best threshold with sigma sqrt(2 ln N)", "test_against_universal"),
    ("06_deep_image_prior", "dip_step", "((A(out) - y) ** 2).mean()", "((A(out) - y) ** 2).sum()", "loss"),
    ("06_deep_image_prior", "dip_step", "torch.randn(z.shape, generator=generator)", "torch.randn(z.shape)",
     "generator"),
    ("06_deep_image_prior", "dip_step", "return loss.item(), out.detach()", "return loss.item(), net(z)[0, 0].detach()",
     "before the update"),
    ("06_deep_image_prior", "dip_step", "    optimizer.zero_grad()\n", "", "zero"),
    ("06_deep_image_prior", "gd_limit", "return c0 + torch.linalg.pinv(M) @ (y - M @ c0)",
     "return torch.linalg.pinv(M) @ y", "as if gradient descent had started at 0"),
    ("06_deep_image_prior", "gd_limit", "return c0 + torch.linalg.pinv(M) @ (y - M @ c0)",
     "return c0 + torch.linalg.pinv(M) @ (y + M @ c0)", "misses y"),
    ("06_deep_image_prior", "gd_limit", "return c0 + torch.linalg.pinv(M) @ (y - M @ c0)",
     "return c0 + M.T @ (y - M @ c0)", "direction of the first step"),
    ("06_deep_image_prior", "bound_factors", "((W.T @ x) ** 2 / s ** 2)", "((W.T @ x) ** 2 / s)", "divides by σ_i"),
    ("06_deep_image_prior", "bound_factors", "((W.T @ x) ** 2 / s ** 2)", "((W.T @ x) ** 2 * s ** 2)",
     "multiplies by σ_i²"),
    ("06_deep_image_prior", "bound_factors", "(s[tail_from:] ** 2)", "(s[tail_from + 1:] ** 2)", "skips σ_"),
    ("06_deep_image_prior", "bound_factors", "(s[tail_from:] ** 2)", "(s[tail_from - 1:] ** 2)", "includes σ_"),
    ("06_deep_image_prior", "bound_factors", "(s[tail_from:] ** 2)", "(s[tail_from:])", "sums their squares"),
    ("07_analytic_deep_prior", "pg_network", "/ (1 + step * alpha)", "/ (1 + alpha)", "/ (1 + λα)"),
    ("07_analytic_deep_prior", "pg_network", "x = torch.zeros_like(b) if x0 is None else x0", "x = torch.zeros_like(b)",
     "from x0 (the warm start)"),
    ("07_analytic_deep_prior", "pg_network", "x - step * B.T @ (B @ x) + b", "x + step * B.T @ (B @ x) + b",
     "pg_network"),
    ("07_analytic_deep_prior", "gradient_F", "return torch.outer(y - B @ x, p) - torch.outer(B @ p, x)",
     "return torch.outer(B @ p, x) - torch.outer(y - B @ x, p)", "wrong sign"),
    ("07_analytic_deep_prior", "gradient_F", "return torch.outer(y - B @ x, p) - torch.outer(B @ p, x)",
     "return torch.outer(p, y - B @ x) - torch.outer(x, B @ p)", "transpose"),
    ("07_analytic_deep_prior", "gradient_F", "return torch.outer(y - B @ x, p) - torch.outer(B @ p, x)",
     "return torch.outer(y - B @ x, p)", "two outer products"),
    ("07_analytic_deep_prior", "adp_step", "return B - lr * gradient_F(B, A, y, alpha), loss",
     "return B + lr * gradient_F(B, A, y, alpha), loss", "B_new = B − lr · ∇F(B)"),
    ("07_analytic_deep_prior", "alpha_threshold", "(sigma_k ** 2 / 4)", "(sigma_k / 4)", "σ_k / 4"),
    ("07_analytic_deep_prior", "alpha_threshold", "(sigma_k ** 2 / 4)", "(sigma_k ** 2 / 2)", "σ_k² / 2"),
    ("07_analytic_deep_prior", "alpha_threshold", "svdvals(A)[k - 1]", "svdvals(A)[k]", "counted from 1"),
    ("07_analytic_deep_prior", "train", "if (A @ x - y).norm() <= tau * delta:",
     "if (A @ x - y).norm() <= 0.5 * tau * delta:", "expected the discrepancy principle to stop it"),
    ("07_analytic_deep_prior", "train", "if (A @ x - y).norm() <= tau * delta:", "if (A @ x - y).norm() <= delta:",
     "tau scales the level"),
    ("07_analytic_deep_prior", "train", "            return x, B, k\n", "            return x, B, k + 1\n",
     "no step is taken"),
]


def _cells(name: str) -> list:
    return json.loads((ROOT / "solutions" / f"{name}.ipynb").read_text())["cells"]


def _plain(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in MARKERS
                     and not line.strip().startswith("### HINT"))


def _grade_id(cell) -> str | None:
    return cell["metadata"].get("nbgrader", {}).get("grade_id")


def _test_id(mutant) -> str:
    """The grade_id of the test cell a mutant must fail: the sixth entry, else test_<the solution's grade_id>."""
    return mutant[5] if len(mutant) > 5 else f"test_{mutant[1]}"


@pytest.mark.parametrize("name, grade_id, old, new, says, test_id", [(*m[:5], _test_id(m)) for m in MUTANTS],
                         ids=[f"{m[1]}: {m[3][:40]}" for m in MUTANTS])
def test_a_typical_mistake_fails_its_test_with_a_message(name, grade_id, old, new, says, test_id, namespace):
    cells = [c for c in _cells(name) if c["cell_type"] == "code"]
    test_cell = next(c for c in cells if _grade_id(c) == test_id)
    for cell in cells[:cells.index(test_cell)]:
        if cell["metadata"].get("nbgrader", {}).get("grade"):
            continue                                        # only the test cell of the mutated exercise runs
        source = "".join(cell["source"])
        if _grade_id(cell) == grade_id:
            assert old in source, f"the solution of {grade_id} no longer contains {old!r}: update the mutant"
            source = source.replace(old, new)
        exec(compile(_plain(source), f"<{_grade_id(cell) or 'cell'}>", "exec"), namespace)
    with pytest.raises(Exception) as failure:               # noqa: B017 - a check or an assertion, with words
        exec(compile(_plain("".join(test_cell["source"])), f"<test_{grade_id}>", "exec"), namespace)
    assert says in str(failure.value), f"{type(failure.value).__name__}: {failure.value}"


@pytest.mark.parametrize("name", sorted({m[0] for m in MUTANTS}))
def test_the_unchanged_solutions_pass_the_same_way(name, namespace):
    """The control: unmutated, the cells the mutants run (up to the last test cell a mutant targets) pass in this
    harness. The cells after it (lecture 03's training) are run by nbval and by the grader's full-marks test."""
    cells = [c for c in _cells(name) if c["cell_type"] == "code"]
    targets = {_test_id(m) for m in MUTANTS if m[0] == name}
    last = max(i for i, cell in enumerate(cells) if _grade_id(cell) in targets)
    for cell in cells[: last + 1]:
        exec(compile(_plain("".join(cell["source"])), f"<{_grade_id(cell) or 'cell'}>", "exec"), namespace)
