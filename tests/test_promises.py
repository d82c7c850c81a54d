"""The README's promises about the public API, read off the API itself.

The walk covers every module of ``course_lib`` (its ``__all__``: functions, classes and the public methods they
define) except the three rooms that are not the mathematics (``NOT_THE_MATHEMATICS``). A new public function that
takes a ``seed``, or a new iterative routine, must join a table here: the test fails until it does.
"""
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import course_lib as cl
from course_lib.history import History

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _process_state_stays_here():
    """utils.setup_notebook (called below) seeds the global RNGs, sets the threads and flushes denormals for the whole
    process: put them back for the tests after these."""
    import random

    import numpy as np

    saved = torch.get_rng_state(), np.random.get_state(), random.getstate(), torch.get_num_threads()
    yield
    torch.set_rng_state(saved[0])
    np.random.set_state(saved[1])
    random.setstate(saved[2])
    torch.set_num_threads(saved[3])
    torch.set_flush_denormal(False)

#: Modules outside the walk, and why.
NOT_THE_MATHEMATICS = {
    "tools": "the course's machinery (notebook pipeline, grader, site), not an API a student calls",
    "checks": "the exercises' feedback: seeds there are plain data sent across the grader's boundary (ints)",
    "lectures": "the lectures' recorded runs (recipes and their regenerators), kept in step with their records by "
                "tests/test_recorded.py",
}


def library_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(cl.__path__)
                  if not m.name.startswith("_") and m.name not in NOT_THE_MATHEMATICS)


def public_api():
    """``(name, object)`` for every public function and class of the walked modules, and every public method a class
    of the course defines itself (``operators.LinearOperator.norm``)."""
    for module_name in library_modules():
        module = importlib.import_module(f"course_lib.{module_name}")
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) and obj.__module__.startswith("course_lib"):
                yield f"{module_name}.{name}", obj
                for attribute, value in vars(obj).items():
                    if not attribute.startswith("_") and isinstance(value, (staticmethod, classmethod)) \
                            or not attribute.startswith("_") and inspect.isfunction(value):
                        yield f"{module_name}.{name}.{attribute}", getattr(obj, attribute)
            elif inspect.isfunction(obj) and obj.__module__.startswith("course_lib"):
                yield f"{module_name}.{name}", obj


def parameters(obj) -> dict:
    try:
        return dict(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return {}


def resolve(name: str):
    obj = cl
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


API = dict(public_api())


def test_the_walk_finds_the_api():
    assert {"solvers.ista", "dip.ConvGenerator", "operators.LinearOperator.norm", "architectures.train_classifier",
            "plotting.draw_unrolled", "geometry.relu_network"} <= set(API)


# --------------------------------------------------------------------------- every module is an attribute

def test_every_module_is_an_attribute_imported_on_first_access():
    import subprocess
    import sys

    modules = sorted(m.name for m in pkgutil.iter_modules(cl.__path__) if not m.name.startswith("_"))
    reachable = [m for m in modules if m != "tools"]
    assert {"dip", "adp", "geometry", "plotting", "history", "metrics", "checks"} <= set(reachable)
    assert set(reachable) <= set(dir(cl))
    for name in reachable:
        assert getattr(cl, name) is importlib.import_module(f"course_lib.{name}")
    # in a fresh interpreter: once any test has imported course_lib.tools, Python itself sets the attribute
    fresh = ("import course_lib as cl\n"
             "for name in ('tools', 'no_such_module'):\n"
             "    try:\n"
             "        getattr(cl, name)\n"
             "        print(name, 'reachable')\n"
             "    except AttributeError as error:\n"
             "        print(error)\n")
    said = subprocess.run([sys.executable, "-c", fresh], capture_output=True, text=True, check=True).stdout
    assert "no attribute 'tools'" in said and "no attribute 'no_such_module'" in said, said
    loaded = subprocess.run([sys.executable, "-c", "import sys, course_lib as cl; cl.dip; print(sorted(sys.modules))"],
                            capture_output=True, text=True, check=True).stdout
    heavy = ("'matplotlib", "'scipy.optimize", "'scipy.sparse", "'sklearn", "'skimage", "'course_lib.tools",
             "'course_lib.checks", "'course_lib.plotting", "'course_lib.lectures")
    light = subprocess.run([sys.executable, "-c", "import sys, course_lib; print(sorted(sys.modules))"],
                           capture_output=True, text=True, check=True).stdout
    assert not [h for h in heavy if h in light], "import course_lib stays light"
    assert "'course_lib.dip'" in loaded and "'course_lib.dip'" not in light


# --------------------------------------------------------------------------- n_iter, only n_iter

#: A name that counts iterations (or steps, epochs, inner iterations): n_steps, max_iter, num_iter, iterations, ...
COUNT_LIKE = re.compile(r"(^|_)(iters?|iterations|steps|its|epochs|maxiter|niter|inner)$")

#: Parameters that look like an iteration count and are allowed, and why.
NAMED_EXCEPTIONS = {
    ("functionals.TotalVariation", "n_inner"): "the most steps of the inner dual solver of one prox (it stops "
                                               "earlier at its certified tolerance); the outer solver's is n_iter",
    ("pnp.data_step", "cg_iter"): "the inner conjugate-gradient iterations of one data step (PnP's outer iterations "
                                  "are the schedule's length); an inner count beside the outer one",
    ("dip.Snapshots", "iterations"): "the iterations at which a snapshot is kept (a collection), not a count",
    ("lifting.Wavelet", "steps"): "the lifting steps themselves (predict/update pairs), not a count",
}


def test_iteration_counts_are_n_iter():
    found = {(name, p) for name, obj in API.items() for p in parameters(obj)
             if COUNT_LIKE.search(p) and p != "n_iter"}
    unexplained = sorted(found - set(NAMED_EXCEPTIONS))
    assert not unexplained, f"iteration counts are n_iter everywhere; rename (or name the exception): {unexplained}"
    stale = sorted(set(NAMED_EXCEPTIONS) - found)
    assert not stale, f"exceptions that no longer exist: {stale}"


# --------------------------------------------------------------------------- seed: an int or a Generator

def _tiny():
    """Tiny valid inputs shared by the tables below."""
    A = cl.IntegrationOperator(6)
    x = torch.linspace(0, 1, 6, dtype=torch.float64)
    images = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(8) % 2
    return A, x, images, labels


def _built(make):
    """A module initialised from a fixed seed, the global RNG left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return make()


def _tiny_classifier():
    return _built(lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 2)))


def _classifier_loss(f):
    return nn.functional.cross_entropy(f(IMAGES), LABELS)


A6, X6, IMAGES, LABELS = _tiny()

#: Every public callable with a ``seed``: ``name -> (args, kwargs)``, called as ``f(*args, **kwargs, seed=seed)``.
#: The arguments are built afresh for each call (functions), so that a call cannot change the next one's input.
SEEDED = {
    "adp.integration_example": lambda: ((), dict(n=8)),
    "adp.sparse_integration_example": lambda: ((), dict(n=32, n_spikes=2)),
    "architectures.RNNCell": lambda: ((2, 3), {}),
    "architectures.filter_normalised_direction": lambda: ((_tiny_classifier(),), {}),
    "architectures.hessian_extreme_eigenvalues": lambda: ((_tiny_classifier(), _classifier_loss), dict(n_iter=2)),
    "architectures.linear_data": lambda: ((), dict(n=6, n_samples=3)),
    "architectures.rotated_patterns": lambda: ((4,), dict(size=8)),
    "architectures.train_classifier": lambda: ((_tiny_classifier(), IMAGES, LABELS), dict(n_iter=2, batch=4)),
    "data.add_noise": lambda: ((X6,), dict(sigma=0.1)),
    "data.dead_leaves": lambda: ((1,), dict(size=8, n_discs=5)),
    "data.digits": lambda: ((), {}),
    "data.gaussian_matrix": lambda: ((3, 4), {}),
    "data.piecewise_constant": lambda: ((2, 8), {}),
    "data.random_ellipses": lambda: ((1,), dict(size=8, n_ellipses=2)),
    "data.random_patches": lambda: (([IMAGES[0, 0], IMAGES[1, 0]], 3, 4), {}),
    "data.rpca_video": lambda: ((), dict(n_frames=3, shape=(8, 8), n_bubbles=1)),
    "data.sparse_images": lambda: ((2, (4, 4)), {}),
    "data.sparse_signals": lambda: ((2, 8), {}),
    "dip.ConvGenerator": lambda: ((8,), dict(channels=2)),
    "dip.fit": lambda: ((cl.dip.ConvGenerator(6, channels=2), A6, A6(X6)), dict(n_iter=2, progress=False)),
    "dip.generator_input": lambda: ((2, (4, 4)), {}),
    "dip.linear_generator": lambda: ((4, 6), {}),
    "dip.pretrain": lambda: ((_built(lambda: cl.dip.SkipNet(in_channels=1, channels=4, depth=2)), cl.Identity((8, 8)),
                              0.1),
                             dict(n_iter=2, batch=2, phantoms="ellipses", progress=False)),
    "dip.settling_path": lambda: ((), dict(n=10, best=4, shape=(4, 4))),
    "domains.variable_density_mask": lambda: (((8, 8), 2.0, 1.0), {}),
    "geometry.relu_network": lambda: ((2, 3, 2), {}),
    "operators.LinearOperator.adjointness_test": lambda: ((A6,), {}),
    "operators.LinearOperator.norm": lambda: ((A6,), dict(n_iter=3)),
    "operators.random_cartesian_mask": lambda: (((8, 8),), {}),
    "training.train": lambda: ((_built(lambda: nn.Linear(2, 1)),
                                lambda g: (torch.randn(4, 2, generator=g), torch.zeros(4, 1))),
                               dict(n_iter=2, progress=False)),
    "unfolding.BlackBoxMLP": lambda: ((3, 4), dict(hidden=(5,))),
    "unfolding.NeuralProximalGradient": lambda: ((cl.operators.SubsampledFourier(
        cl.operators.random_cartesian_mask((8, 8), acceleration=2, seed=0)),), dict(n_layers=1, channels=2)),
    "utils.as_generator": lambda: ((), {}),
    "utils.seed_from": lambda: ((), {}),
    "utils.setup_notebook": lambda: ((), dict(threads=torch.get_num_threads(), style=False)),
    "xray.double_sided_panel": lambda: ((), dict(size=16, n_pigments=3)),
    "xray.pigment_xray": lambda: ((torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(0)),),
                                  dict(n_pigments=3)),
}

#: Seeded callables that set the global RNG on purpose, and why.
SETS_THE_GLOBAL_RNG = {"utils.setup_notebook": "it seeds the notebook: Python's, NumPy's and torch's global RNGs"}


def test_every_seeded_callable_is_in_the_table():
    seeded = {name for name, obj in API.items() if "seed" in parameters(obj)}
    assert seeded == set(SEEDED), (f"missing from SEEDED: {sorted(seeded - set(SEEDED))}; "
                                   f"no longer seeded: {sorted(set(SEEDED) - seeded)}")


def numbers(result) -> list:
    """The tensors and numbers in a result, for comparing two calls."""
    if isinstance(result, torch.Tensor):
        return [result.detach()]
    if isinstance(result, nn.Module):
        return [v.detach() for v in result.state_dict().values()]
    if isinstance(result, torch.Generator):
        return [result.get_state()]
    if isinstance(result, History):
        return [torch.tensor(v) for v in vars(result).values() if isinstance(v, list) and v
                and all(isinstance(u, (int, float)) for u in v)]
    if isinstance(result, (int, float, bool)):
        return [torch.tensor(float(result))]
    if isinstance(result, dict):
        return [n for v in result.values() for n in numbers(v)]
    if isinstance(result, (tuple, list)):
        return [n for v in result for n in numbers(v)]
    if hasattr(result, "__dict__"):
        return numbers(vars(result))
    return []


def same(a, b) -> bool:
    a, b = numbers(a), numbers(b)
    return len(a) == len(b) and all(u.shape == v.shape and torch.equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_seed_is_an_int_or_a_generator(name):
    """seed=3 and seed=torch.Generator().manual_seed(3) both work; the generator alone decides the result (the same
    generator state gives the same result) and the global RNG is left alone."""
    f = resolve(name)
    args, kwargs = SEEDED[name]()
    f(*args, **kwargs, seed=3)
    args, kwargs = SEEDED[name]()
    state = torch.get_rng_state()
    first = f(*args, **kwargs, seed=torch.Generator().manual_seed(3))
    if name not in SETS_THE_GLOBAL_RNG:
        assert torch.equal(torch.get_rng_state(), state), f"{name}(seed=Generator) moved the global RNG"
    args, kwargs = SEEDED[name]()
    second = f(*args, **kwargs, seed=torch.Generator().manual_seed(3))
    if name not in ("utils.as_generator",):                 # it returns the generator itself
        assert same(first, second), f"{name}: the same generator state gave different results"
    with pytest.raises(TypeError, match="seed"):
        args, kwargs = SEEDED[name]()
        f(*args, **kwargs, seed=1.5)


# --------------------------------------------------------------------------- random data: device=

def _holds(value, kinds) -> bool:
    if isinstance(value, kinds):
        return True
    if isinstance(value, (tuple, list)):
        return any(_holds(v, kinds) for v in value)
    return False


def random_data_functions() -> list[str]:
    """Seeded *functions* that make tensors out of nothing: no tensor or module among their arguments (whose device
    they could follow). Classes are modules, moved by ``.to(device)``; methods follow their operator."""
    made = []
    for name in sorted(SEEDED):
        f = resolve(name)
        if inspect.isclass(f) or name.count(".") > 1:
            continue
        args, kwargs = SEEDED[name]()
        if _holds([*args, *kwargs.values()], (torch.Tensor, nn.Module)):
            continue
        if _holds(f(*args, **kwargs, seed=0), torch.Tensor):
            made.append(name)
    return made


def test_random_generators_take_device():
    made = random_data_functions()
    assert {"data.sparse_signals", "data.digits", "dip.linear_generator", "dip.settling_path"} <= set(made)
    without = [name for name in made if "device" not in parameters(resolve(name))]
    assert not without, f"random generators take device=: {without}"
    for name in made:
        args, kwargs = SEEDED[name]()
        result = resolve(name)(*args, **kwargs, seed=0, device=torch.device("cpu"))
        assert all(t.device.type == "cpu" for t in numbers(result))


# --------------------------------------------------------------------------- (result, history)

def _schedule():
    return cl.pnp.penalty_schedule(0.05, 3)


_IMAGE = torch.rand(8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
_MASK = cl.Inpainting((torch.rand(8, 8, generator=torch.Generator().manual_seed(2)) < 0.7).double())
_M = torch.randn(4, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
_FOURIER = cl.SubsampledFourier(cl.domains.variable_density_mask((8, 8), 2.0, 1.0, seed=0))

#: Every iterative routine, called with tiny valid arguments.
ITERATIVE = {
    "ista": lambda: cl.solvers.ista(A6, A6(X6), 0.01, n_iter=3),
    "fista": lambda: cl.solvers.fista(A6, A6(X6), 0.01, n_iter=3),
    "gradient_descent": lambda: cl.solvers.gradient_descent(A6, A6(X6), n_iter=3),
    "landweber": lambda: cl.solvers.landweber(A6, A6(X6), n_iter=3),
    "lasso_admm": lambda: cl.solvers.lasso_admm(_M, _M @ torch.ones(6, dtype=torch.float64), 0.1, n_iter=3),
    "robust_pca": lambda: cl.solvers.robust_pca(_M, 0.1, 0.1, n_iter=3),
    "pnp.hqs": lambda: cl.pnp.hqs(_MASK, _MASK(_IMAGE), lambda x, sigma: x, _schedule()),
    "pnp.admm": lambda: cl.pnp.admm(_MASK, _MASK(_IMAGE), lambda x, sigma: x, _schedule()),
    "pnp.conjugate_gradient": lambda: cl.pnp.conjugate_gradient(lambda x: 2 * x, X6, n_iter=3),
    "pnp.tv_deblur": lambda: cl.pnp.tv_deblur(_MASK, _MASK(_IMAGE), 0.1, n_iter=30),
    "domains.tv_reconstruct": lambda: cl.domains.tv_reconstruct(_FOURIER, _FOURIER(_IMAGE), n_iter=30),
    "train": lambda: cl.training.train(*SEEDED["training.train"]()[0], **SEEDED["training.train"]()[1]),
    "architectures.train_classifier": lambda: cl.architectures.train_classifier(
        *SEEDED["architectures.train_classifier"]()[0], **SEEDED["architectures.train_classifier"]()[1]),
    "dip.fit": lambda: cl.dip.fit(*SEEDED["dip.fit"]()[0], **SEEDED["dip.fit"]()[1]),
    "dip.pretrain": lambda: cl.dip.pretrain(*SEEDED["dip.pretrain"]()[0], **SEEDED["dip.pretrain"]()[1]),
    "adp.train_adp": lambda: cl.adp.train_adp(_M, _M @ torch.ones(6, dtype=torch.float64), 0.1, n_iter=3),
    "adp.trivial_network_descent": lambda: cl.adp.trivial_network_descent(_M, _M @ torch.ones(6, dtype=torch.float64),
                                                                          3, 0.01),
}

#: Public functions with an ``n_iter`` that are not iterative routines returning a history, and why.
N_ITER_BUT_NOT_A_ROUTINE = {
    "operators.LinearOperator.norm": "a number (power iteration): the norm is the result, cached per operator",
    "architectures.hessian_extreme_eigenvalues": "two numbers (Lanczos on Hessian-vector products)",
    "pnp.penalty_schedule": "the schedule of n_iter (mu, sigma) pairs that hqs and admm then run",
    "training.adam_with_cosine": "an optimizer and the learning-rate schedule over n_iter steps",
    "training.cosine_schedule": "the learning-rate schedule over n_iter steps",
    "plotting.draw_unrolled": "a drawing of n_iter unrolled steps",
}


def readme_routines() -> list[str]:
    """The iterative routines the README's Architecture section lists: ``every iterative routine (`ista`, ...)``."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Architecture"):]
    listed = re.search(r"every\s+iterative\s+routine\s*\(([^)]*)\)", section)
    assert listed, "the README's Architecture section lists the iterative routines"
    return re.findall(r"`([\w.]+)`", listed.group(1))


def test_the_table_holds_every_iterative_routine():
    assert set(readme_routines()) <= set(ITERATIVE), "every routine the README lists is checked here"
    routines = {name for name, obj in API.items() if "n_iter" in parameters(obj) and not inspect.isclass(obj)}
    checked = {name for name in routines if name in ITERATIVE or name.split(".", 1)[1] in ITERATIVE}
    unlisted = sorted(routines - checked - set(N_ITER_BUT_NOT_A_ROUTINE))
    assert not unlisted, f"functions with n_iter that are neither checked routines nor named exceptions: {unlisted}"


@pytest.mark.parametrize("name", sorted(ITERATIVE))
def test_iterative_routines_return_the_result_and_a_history(name):
    result = ITERATIVE[name]()
    assert isinstance(result, tuple) and len(result) == 2, f"{name} returns (result, history)"
    assert isinstance(result[1], History), f"{name}'s second element is a {type(result[1]).__name__}, not a History"
