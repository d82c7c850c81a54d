"""course_lib: operators, proximal maps and solvers for *Model-Based Deep Learning for Inverse Problems*.

One module per idea: ``operators`` (A, A*, norms, dot-tests), ``prox`` (proximal maps),
``solvers`` (Landweber, Tikhonov, ISTA, FISTA, choosing alpha), ``metrics``, ``data``,
``plotting``, ``checks`` (feedback for the exercises) and ``nbtools`` (the notebook pipeline).
"""
from . import data, metrics, operators, prox, solvers, training, unfolding, utils
from .operators import (AveragePooling2D, Convolution1D, Convolution2D, Identity, Inpainting, IntegrationOperator,
                        LinearOperator, MatrixOperator, MultiChannelConvolution2D, SubsampledFourier, gaussian_kernel,
                        random_cartesian_mask)
from .prox import (project_box, project_nonnegative, prox_squared_l2, singular_value_threshold, soft_threshold,
                   soft_threshold_nonnegative)
from .solvers import discrepancy_principle, fista, gradient_descent, ista, l_curve, landweber, robust_pca, tikhonov
from .utils import select_device, setup_notebook

__version__ = "0.1.0"
