"""course_lib: operators, regularisers and solvers for *Model-Based Deep Learning for Inverse Problems*.

One module per idea: ``operators`` (A, A*, norms, dot-tests; operators are ``nn.Module``s),
``prox`` (proximal maps), ``functionals`` (regularisers with a value and a prox), ``solvers``
(Landweber, Tikhonov, ISTA, FISTA, choosing alpha, robust PCA), ``unfolding`` (LISTA and other
unfolded networks), ``lifting`` (wavelets by lifting, a lifting network), ``pnp`` (plug-and-play), ``xray``
(separating the X-ray of a double-sided panel),
``architectures`` (architectural priors: the evidence, (group) convolution, residual and recurrent
networks), ``training``, ``dip`` (deep image prior), ``adp`` (analytic deep prior),
``metrics``, ``data``, ``plotting``; ``history`` holds what every iterative routine records, and ``claims``
(:class:`Claims`) the checked statements of a lecture's prose.
The feedback checks of the exercises are in ``course_lib.checks`` and the course's machinery
(notebook pipeline, grader, site) in ``course_lib.tools``; neither is imported here.

Every module is an attribute (``cl.dip``, ``cl.plotting``, ``cl.checks``, ...), imported on first access, so that
``import course_lib`` stays light: it loads the operators, proximal maps, regularisers and solvers whose names
it exports, not matplotlib, SciPy or the networks. ``tools`` (the machinery) is imported by name only.
"""
import importlib as _importlib
import pkgutil as _pkgutil

from . import claims, functionals, history, operators, prox, solvers, utils
from .claims import Claims
from .functionals import L1, Box, Functional, NonnegativeL1, SquaredL2, TotalVariation
from .history import History
from .operators import (
                        AveragePooling2D,
                        Convolution1D,
                        Convolution2D,
                        Identity,
                        Inpainting,
                        IntegrationOperator,
                        LinearOperator,
                        MatrixOperator,
                        MultiChannelConvolution2D,
                        SubsampledFourier,
                        gaussian_kernel,
                        random_cartesian_mask,
)
from .prox import (
                        project_box,
                        project_nonnegative,
                        prox_squared_l2,
                        singular_value_threshold,
                        soft_threshold,
                        soft_threshold_nonnegative,
)
from .solvers import (
                        casorati,
                        discrepancy_principle,
                        fista,
                        gradient_descent,
                        ista,
                        ista_step,
                        l_curve,
                        landweber,
                        lasso_admm,
                        lasso_duality_gap,
                        robust_pca,
                        tikhonov,
)
from .utils import latency, select_device, setup_notebook

__version__ = "0.1.0"

_NOT_AN_ATTRIBUTE = frozenset({"tools"})        # the course's machinery: ``import course_lib.tools``


def _submodules() -> list[str]:
    """The package's modules and subpackages reachable as attributes (found on disk: a new module is one too)."""
    return sorted(m.name for m in _pkgutil.iter_modules(__path__)
                  if not m.name.startswith("_") and m.name not in _NOT_AN_ATTRIBUTE)


def __getattr__(name: str):
    """``course_lib.dip`` and every other module, imported the first time it is asked for (PEP 562)."""
    if name in _submodules():
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_submodules()))
