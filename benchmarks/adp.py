r"""Analytic deep prior against Tikhonov at the same alpha, on the integration operator (n = 200).

Cases (``course_lib.adp``, float64, 10 % relative Gaussian noise, seed 0):

1. ``x_true = u5`` (Dittmer et al.'s example), R = 1/2 ||x||^2, alpha in {0.02, 0.0015, 0.0011};
2. ``x_true`` along ``u2 + 0.6 u5 - 0.4 u9``, R = 1/2 ||x||^2, alpha in {0.02, 0.01, 0.005};
3. (reported, not a target) a sparse ``x_true`` (6 spikes), R = ||x||_1, alpha in {0.005, 0.001},
   against the LASSO at the same alpha (20000 FISTA iterations).

ADP: B starts at A and follows gradient descent on F(B) = 1/2 ||A x(B) - y||^2 with step 0.3 (case 3:
3e-4, through 10 unrolled layers warm-started at the LASSO solution, i.e. converged at B = A), at most
500 steps (case 3: 300), stopped by the
discrepancy principle ||A x(B_k) - y|| <= delta (no ground truth used). For cases 1-2 also the
adaptive-alpha variant (log alpha trained too, step 0.01). Printed: the relative true error of
Tikhonov (or LASSO) and of ADP, the steps, whether the discrepancy principle stopped it, seconds (of one
run each, not repeated).

Targets (cases 1-2): ADP error below Tikhonov's at the same alpha in every case, by >= 2x for the
smallest alpha of each example; the whole table in <= 20 s on 2 cores (one run of the script).

Run::

    .venv/bin/python benchmarks/adp.py            # about 10 s
    .venv/bin/python benchmarks/adp.py --quick    # smoke test (fewer steps; targets not meaningful)

The figures, the targets and the verdict are also written as JSON, to benchmarks/results/adp.json
(adp-quick.json with --quick) or to ``--json PATH`` (see benchmarks/README.md).
"""
from __future__ import annotations

import time

START = time.perf_counter()

import sys

import torch
from _report import BenchmarkParser, report, target  # (importing _report puts the repository on sys.path)

import course_lib as cl
from course_lib import adp

EXAMPLES = {
    "u5": dict(index=5, alphas=(0.02, 0.0015, 0.0011)),
    "u2+0.6u5-0.4u9": dict(index={2: 1.0, 5: 0.6, 9: -0.4}, alphas=(0.02, 0.01, 0.005)),
}
SPARSE_ALPHAS = (0.005, 0.001)
RATIO_TARGET, SECONDS_TARGET = 2.0, 20.0
# count options: name, default, --quick value, help
COUNTS = """
steps          500    20   ADP steps at most (cases 1-2)
sparse-steps   300    20   ADP steps (case 3)
lasso-iters    20000  500  FISTA iterations of the LASSO reference
"""


def relative_error(x, x_true) -> float:
    return ((x - x_true).norm() / x_true.norm()).item()


def row(example, regulariser, alpha, variant, reference, history, in_targets) -> dict:
    """A row of the table: ``reference`` is the error of Tikhonov (or the LASSO), ``history`` ADP's run."""
    return dict(example=example, R=regulariser, alpha=alpha, variant=variant, reference_error=reference,
                adp_error=history.error[-1], ratio=reference / history.error[-1], steps=history.iterations,
                stopped=history.stopped, seconds=history.seconds, alpha_end=history.alpha[-1], in_targets=in_targets)


def run(args) -> list:
    rows = []
    for name, spec in EXAMPLES.items():
        A, x_true, y, delta = adp.integration_example(index=spec["index"], noise=0.1, seed=args.seed)
        for alpha in spec["alphas"]:
            tikhonov = relative_error(cl.tikhonov(A, y, alpha), x_true)
            for adaptive in (False, True):
                _, history = adp.train_adp(A, y, alpha, n_iter=args.steps, lr=0.3, x_true=x_true, delta=delta,
                                           adaptive_alpha=adaptive, alpha_lr=0.01, track_every=None)
                rows.append(row(name, "l2", alpha, "adaptive" if adaptive else "fixed", tikhonov, history,
                                in_targets=not adaptive))
    A, x_true, y, delta = adp.sparse_integration_example(seed=args.seed)
    for alpha in SPARSE_ALPHAS:
        lasso = cl.fista(cl.MatrixOperator(A), y, alpha, n_iter=args.lasso_iters)[0]
        _, history = adp.train_adp(A, y, alpha, cl.L1(), n_iter=args.sparse_steps, lr=3e-4, n_layers=10,
                                   x0=lasso, x_true=x_true, delta=delta, track_every=None)  # starts converged, at B = A
        rows.append(row("sparse", "l1", alpha, "unrolled", relative_error(lasso, x_true), history, in_targets=False))
    return rows


def main(argv=None) -> int:
    args = BenchmarkParser(__doc__, COUNTS).parse(argv)
    print(f"Analytic deep prior vs Tikhonov, integration operator n = 200, 10% noise, float64, torch "
          f"{torch.__version__}, threads {torch.get_num_threads()}" + (" [--quick]" if args.quick else ""))
    rows = run(args)
    print(f"\n{'example':<16}{'R':<4}{'alpha':>8} {'ADP':<9}{'Tikhonov':>9}{'ADP err':>9}{'ratio':>7}{'steps':>7}"
          f"{'stop':>6}{'seconds':>9}{'alpha end':>11}")
    for r in rows:
        ref = "LASSO" if r["R"] == "l1" else ""
        print(f"{r['example']:<16}{r['R']:<4}{r['alpha']:>8g} {r['variant']:<9}{r['reference_error']:>9.3f}"
              f"{r['adp_error']:>9.3f}{r['ratio']:>7.2f}{r['steps']:>7}{'yes' if r['stopped'] else 'no':>6}"
              f"{r['seconds']:>9.2f}{r['alpha_end']:>11.2e}" + (f"  (reference: {ref})" if ref else ""))
    print("errors: relative, ||x - x_true|| / ||x_true||; ratio = reference / ADP; stop: the discrepancy "
          "principle ended the training; sparse rows: reference = LASSO at the same alpha, not a target; seconds: "
          "one run each (not repeated)")
    total = time.perf_counter() - START
    targeted = [r for r in rows if r["in_targets"]]
    below = sum(r["adp_error"] < r["reference_error"] for r in targeted)
    smallest = {name: min(r["alpha"] for r in targeted if r["example"] == name) for name in EXAMPLES}
    ratios = {name: next(r["ratio"] for r in targeted if r["example"] == name and r["alpha"] == smallest[name])
              for name in EXAMPLES}
    targets = [
        target("ADP error below Tikhonov's at the same alpha in every case (examples 1-2)", below, ">=", len(targeted),
               detail=f"{below}/{len(targeted)}"),
        target(f"ADP >= {RATIO_TARGET:g}x better at the smallest alpha of each example", min(ratios.values()), ">=",
               RATIO_TARGET, detail=", ".join(f"{n}: {v:.2f}x at {smallest[n]:g}" for n, v in ratios.items())),
        target(f"whole table in <= {SECONDS_TARGET:g} s", total, "<=", SECONDS_TARGET, "{:.1f} s (one run)"),
    ]
    report("adp", dict(rows=rows), targets, total, args.quick, args.json, vars(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
