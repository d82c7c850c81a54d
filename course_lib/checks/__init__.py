"""Feedback checks for the exercises: each one tells the student what was wrong, not just *that*.

A check either prints a short success line or raises :class:`CheckFailed` (an AssertionError)
whose message names the input, what came back, what was expected and the rule behind it.
A ``NotImplementedError`` from an unfinished exercise is passed through untouched, so the
student sees which function still needs writing. The autograder tells a failed check from any
other error by its type: an exception that is a :class:`CheckFailed` is the course's message.

``core`` holds the building blocks (``CheckFailed``, ``passed``, ``check_close``, ``check_adjoint``,
...), and one module per lecture holds its exercises' checks; every public name is here too, so
test cells write ``from course_lib.checks import check_ista``. Hidden tests reach the student's code
through :data:`student` and plain data (:mod:`.boundary`), with :mod:`.drivers` for stateful units.
"""
from .boundary import Build, StudentError, student
from .core import (
    CheckFailed,
    call_student,
    check_adjoint,
    check_answer,
    check_close,
    check_tensor_result,
    describe,
    passed,
)
from .lecture01 import (
    blur_answers,
    blur_problem,
    check_discrepancy_alpha,
    check_fista,
    check_ista,
    check_soft_threshold,
    check_tikhonov_svd,
)
from .lecture02 import check_p4_lift, check_residual_block, check_unroll
from .lecture03 import (
    check_layers_match_ista,
    check_lista_cp_layer,
    check_lista_init,
    check_lista_layer,
    check_lista_network,
    check_lista_probe,
    check_nmse_below,
)
from .lecture04 import check_hqs, check_lifting_step, check_wavelet_denoiser, threshold_answers, threshold_problem
from .lecture05 import check_encoder_decoder, check_local_linear_map, check_skip_decoder
from .lecture06 import check_bound_factors, check_dip_step, check_gd_limit, check_variance_detector
from .lecture07 import check_adp_step, check_alpha_threshold, check_gradient_F, check_pg_network
from .own_work import ForbiddenError, check_own_work

__all__ = ["Build", "student", "StudentError", "ForbiddenError", "check_own_work", "CheckFailed", "passed", "describe",
           "call_student", "check_answer", "check_tensor_result", "check_close", "check_adjoint",
           "check_soft_threshold", "check_ista", "check_fista", "check_tikhonov_svd", "check_discrepancy_alpha",
           "blur_problem", "blur_answers",
           "check_residual_block", "check_unroll", "check_p4_lift",
           "check_lista_init", "check_lista_layer", "check_layers_match_ista", "check_lista_network",
           "check_lista_probe", "check_lista_cp_layer", "check_nmse_below",
           "check_lifting_step", "check_wavelet_denoiser", "check_hqs", "threshold_problem", "threshold_answers",
           "check_encoder_decoder", "check_skip_decoder", "check_local_linear_map",
           "check_variance_detector", "check_dip_step", "check_gd_limit", "check_bound_factors",
           "check_pg_network", "check_gradient_F", "check_adp_step", "check_alpha_threshold"]
