r"""Deep-unfolding benchmark: NMSE per layer of LISTA, LISTA-CP, LISTA-CPSS and ALISTA against
ISTA and FISTA with a tuned lambda, with the CPU training time of each network.

The problem is the standard one of the LISTA literature: A 250 x 500 Gaussian with unit-norm
columns (``gaussian_matrix(250, 500, seed=0)``), Bernoulli-Gaussian signals (p = 0.1),
y = A x, noiseless and at 40 dB SNR, T = 16 layers / iterations, float32, seeds fixed.
For each setting the script reports, on 1000 fixed test samples,

* the NMSE (dB) of the layer-k output for k = 1, 2, 4, 8, 12, 16;
* ISTA and FISTA with step 1/L and the lambda of {0.01, 0.02, 0.05, 0.1, 0.2, 0.4} that gives
  the best NMSE at iteration 16 on the validation set (500 fixed samples);
* the networks of ``course_lib.unfolding``, initialised at ISTA with lambda = 0.1 and trained by
  ``course_lib.training.train`` (Adam, cosine schedule, fresh batches of 128 samples per step,
  best validation checkpoint every 50 steps) on the mean over layers of log(MSE of the layer):
  deep supervision, which pushes every layer down. Training seconds and trainable parameters;
* what each 16-layer result is worth in FISTA iterations: the first K at which FISTA, with the
  best lambda for that K of the tuning grid extended by {0.001, 0.002, 0.005} (a smaller lambda
  converges more slowly to a lower floor), reaches the same test NMSE, or "> 2000". FISTA is run
  up to 2000 iterations per lambda, a run stopping early once its NMSE moves by < 0.01 dB over
  200 iterations (it has reached its LASSO floor). Subnormal floats are flushed to zero (they
  made FISTA's large-lambda runs ~8x slower); ``--keep-denormals`` keeps them.

Targets (noiseless): ALISTA-16 <= -40 dB, ALISTA trained in <= 60 s, ALISTA-16 >= 25 dB better
than FISTA-16, LISTA-CPSS-16 <= -30 dB.

Run (about 7 min with the defaults on an otherwise idle 2-core CPU, 2 torch threads)::

    .venv/bin/python benchmarks/unfolding_lista.py                    # the full benchmark
    .venv/bin/python benchmarks/unfolding_lista.py --quick            # smoke test, ~5 s
    .venv/bin/python benchmarks/unfolding_lista.py --settings noiseless --methods FISTA,ALISTA

The script always exits 0 once it has run (a FAIL is a finding, not an error).
"""
from __future__ import annotations

import time

START = time.perf_counter()  # "Total" includes the imports

import argparse
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere in the repo

from course_lib.data import add_noise, gaussian_matrix, sparse_signals  # noqa: E402
from course_lib.metrics import nmse_db  # noqa: E402
from course_lib.operators import MatrixOperator  # noqa: E402
from course_lib.solvers import fista, ista  # noqa: E402
from course_lib.training import train  # noqa: E402
from course_lib.unfolding import ALISTA, LISTA, LISTA_CP  # noqa: E402

LAM_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4)          # tuning grid of ISTA / FISTA (at iteration T)
WORTH_GRID = (0.001, 0.002, 0.005) + LAM_GRID         # FISTA for "worth K": small lambdas reach lower floors
TABLE_LAYERS = (1, 2, 4, 8, 12, 16)
INIT_LAM = 0.1                       # every network starts at ISTA with this lambda
# name: (constructor, Adam steps, learning rate)
NETWORKS = {
    "LISTA": (lambda A, T: LISTA(A, T, INIT_LAM, tied=False), 1000, 1e-3),
    "LISTA-CP": (lambda A, T: LISTA_CP(A, T, INIT_LAM), 1000, 1e-3),
    "LISTA-CPSS": (lambda A, T: LISTA_CP(A, T, INIT_LAM, support_selection=True), 1000, 1e-3),
    "ALISTA": (lambda A, T: ALISTA(A, T, INIT_LAM), 600, 1e-2),
}
METHODS = ("ISTA", "FISTA", *NETWORKS)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", default=None,
                        help="comma-separated: noiseless, <snr>dB (default noiseless,40dB; --quick: noiseless)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {METHODS}")
    parser.add_argument("--layers", type=int, default=16, help="T, layers of the networks / solver iterations")
    parser.add_argument("--test", type=int, default=1000, help="test samples")
    parser.add_argument("--val", type=int, default=500, help="validation samples")
    parser.add_argument("--steps", type=int, default=None, help="Adam steps for every network (default: per network)")
    parser.add_argument("--fista-max", type=int, default=2000, help="FISTA iterations for 'worth K'")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-denormals", action="store_true",
                        help="do not flush subnormal floats to zero (they slow FISTA's large-lambda runs ~8x)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: T = 4, 20 steps, 200 test samples, FISTA to 100 (noiseless by default)")
    args = parser.parse_args(argv)
    if args.quick:
        args.layers, args.steps, args.test, args.val, args.fista_max = 4, 20, 200, 100, 100
    settings = args.settings or ("noiseless" if args.quick else "noiseless,40dB")
    args.settings = [s.strip() for s in settings.split(",") if s.strip()]
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for s in args.settings:
        if s != "noiseless" and not (s.endswith("dB") and _is_number(s[:-2])):
            parser.error(f"--settings: {s!r} is neither 'noiseless' nor '<snr>dB' (e.g. 40dB)")
    unknown = set(args.methods) - set(METHODS)
    if unknown:
        parser.error(f"--methods: unknown {sorted(unknown)}; choose from {METHODS}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available here")
    if min(args.layers, args.test, args.val, args.fista_max) < 1:
        parser.error("--layers, --test, --val and --fista-max must be >= 1")
    return args


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


# -- data ------------------------------------------------------------------------------------
def snr_of(setting: str):
    return None if setting == "noiseless" else float(setting[:-2])


def measure(A, x, snr_db, seed):
    """y = A x (+ noise at snr_db, drawn from seed: an int or the training generator)."""
    y = x @ A.T
    return y if snr_db is None else add_noise(y, snr_db=snr_db, seed=seed)


def fixed_set(A, n_samples, snr_db, seed, device):
    x = sparse_signals(n_samples, A.shape[1], 0.1, seed=seed, device=device)
    return measure(A, x, snr_db, seed + 100), x


def batch_sampler(A, snr_db, device, batch=128):
    def sample_batch(g):
        x = sparse_signals(batch, A.shape[1], 0.1, seed=g, device=device)
        return measure(A, x, snr_db, g), x
    return sample_batch


# -- methods ---------------------------------------------------------------------------------
def solver_curve(solver, A, y, x, lam, n_iter, step, stop_flat=False) -> list:
    """NMSE (dB) of iterates 1..n_iter; with stop_flat, stop once it moves < 0.01 dB in 200 iterations
    (the rest of the curve is then filled with the last value)."""
    curve = []

    def record(k, xk):
        curve.append(nmse_db(xk, x))
        return stop_flat and k >= 200 and k % 50 == 0 and abs(curve[-201] - curve[-1]) < 0.01

    solver(MatrixOperator(A), y, lam, n_iter=n_iter, step=step, callback=record)
    return curve + [curve[-1]] * (n_iter - len(curve))


def tuned_solver(solver, A, val, test, T, step):
    """The lambda of the grid with the best validation NMSE at iteration T, and its test curve."""
    lam = min(LAM_GRID, key=lambda lam: solver_curve(solver, A, *val, lam, T, step)[-1])
    return dict(curve=solver_curve(solver, A, *test, lam, T, step), lam=lam, seconds=None, params=0)


def deep_supervision(outs, x):
    return torch.stack([torch.log(((o - x) ** 2).mean()) for o in outs[1:]]).mean()


def trained_network(name, A, val, test, sampler, args):
    build, n_steps, lr = NETWORKS[name]
    torch.manual_seed(args.seed)
    net = build(A, args.layers)
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    history = train(net, sampler, n_steps=args.steps or n_steps, lr=lr, loss_fn=deep_supervision,
                    validation=val, eval_every=50, seed=args.seed, progress=False, description=name,
                    predict=lambda m, y: m(y, all_layers=True))
    with torch.no_grad():
        curve = [nmse_db(o, test[1]) for o in net(test[0], all_layers=True)[1:]]
    return dict(curve=curve, lam=INIT_LAM, seconds=history.seconds, params=params,
                best_step=history.best_step)


def fista_envelope(A, test, step, n_iter) -> list:
    """Per K, the best test NMSE of FISTA over WORTH_GRID."""
    curves = [solver_curve(fista, A, *test, lam, n_iter, step, stop_flat=True) for lam in WORTH_GRID]
    return [min(values) for values in zip(*curves)]


def worth(envelope, target) -> str:
    k = next((k for k, v in enumerate(envelope, start=1) if v <= target), None)
    return f"> {len(envelope)}" if k is None else str(k)


def run_setting(setting, args) -> dict:
    snr_db, dev = snr_of(setting), args.device
    A = gaussian_matrix(250, 500, seed=args.seed, device=dev)
    step = 1.0 / torch.linalg.matrix_norm(A.double(), ord=2).item() ** 2
    test = fixed_set(A, args.test, snr_db, args.seed + 1, dev)
    val = fixed_set(A, args.val, snr_db, args.seed + 2, dev)
    sampler = batch_sampler(A, snr_db, dev)
    rows = {}
    for name in args.methods:
        if name in ("ISTA", "FISTA"):
            rows[name] = tuned_solver(ista if name == "ISTA" else fista, A, val, test, args.layers, step)
        else:
            rows[name] = trained_network(name, A, val, test, sampler, args)
        print(f"  [{setting}] {name}: done at {time.perf_counter() - START:.0f} s", file=sys.stderr, flush=True)
    envelope = fista_envelope(A, test, step, args.fista_max)
    for row in rows.values():
        row["worth"] = worth(envelope, row["curve"][-1])
    return dict(rows=rows, envelope=envelope)


# -- report ----------------------------------------------------------------------------------
def print_table(setting, result, args) -> None:
    layers = [k for k in TABLE_LAYERS if k <= args.layers]
    print(f"\nSetting: {setting}  (T = {args.layers}, {args.test} test / {args.val} validation samples)")
    print(f"{'':<12}{'':>6}{'NMSE dB at layer':^{7 * len(layers)}}")
    print(f"{'method':<12}{'lam':>6}" + "".join(f"{k:>7}" for k in layers)
          + f"{'train s':>9}{'params':>10}{'FISTA K':>9}")
    for name, row in result["rows"].items():
        cells = "".join(f"{row['curve'][k - 1]:>7.2f}" for k in layers)
        seconds = "-" if row["seconds"] is None else f"{row['seconds']:.1f}"
        print(f"{name:<12}{row['lam']:>6g}{cells}{seconds:>9}{row['params']:>10}{row['worth']:>9}")
    env = result["envelope"]
    ks = [k for k in (16, 100, 500, 2000) if k <= len(env)]
    print("lam: tuned on the validation set (ISTA, FISTA) / of the initialisation (networks); "
          "FISTA K: iterations of FISTA (best lam per K) to match layer T")
    print(f"FISTA, best lam of {min(WORTH_GRID):g}..{max(WORTH_GRID):g} per K: "
          + ", ".join(f"K = {k}: {env[k - 1]:.2f} dB" for k in ks))
    best = [f"{name} {row['best_step']}" for name, row in result["rows"].items() if "best_step" in row]
    if best:
        print("Step of the best validation loss (the weights kept): " + ", ".join(best))


def targets(results, args) -> list:
    """(description, measured value or None when not run, check, format) for each target."""
    rows = results.get("noiseless", {}).get("rows", {})

    def last(name):
        return rows[name]["curve"][-1] if name in rows else None

    alista, fista16, cpss = last("ALISTA"), last("FISTA"), last("LISTA-CPSS")
    seconds = rows["ALISTA"]["seconds"] if "ALISTA" in rows else None
    gain = None if alista is None or fista16 is None else fista16 - alista
    T = args.layers
    return [
        (f"ALISTA-{T} <= -40 dB (noiseless)", alista, lambda v: v <= -40, "{:.2f} dB"),
        ("ALISTA training <= 60 s (noiseless)", seconds, lambda v: v <= 60, "{:.1f} s"),
        (f"ALISTA-{T} >= 25 dB better than FISTA-{T} (noiseless)", gain, lambda v: v >= 25, "{:.2f} dB better"),
        (f"LISTA-CPSS-{T} <= -30 dB (noiseless)", cpss, lambda v: v <= -30, "{:.2f} dB"),
    ]


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(not args.keep_denormals)  # speed only: values below 1.2e-38 become 0
    print("Deep unfolding: A 250x500 Gaussian (unit-norm columns), Bernoulli-Gaussian p = 0.1, "
          f"T = {args.layers}, float32, device {args.device}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, denormals {'kept' if args.keep_denormals else 'flushed'}"
          + (" [--quick]" if args.quick else ""))
    results = {}
    for setting in args.settings:
        results[setting] = run_setting(setting, args)
        print_table(setting, results[setting], args)
    print("\nTargets:")
    verdicts = []
    for text, value, check, fmt in targets(results, args):
        if value is None:
            print(f"{text}: n/a (not run)")
            continue
        verdicts.append(check(value))
        print(f"{text}: {'PASS' if verdicts[-1] else 'FAIL'} ({fmt.format(value)})")
    total = time.perf_counter() - START
    print(f"\nTotal: {total:.1f} s")
    verdict = "n/a" if not verdicts else ("PASS" if all(verdicts) else "FAIL")
    print(f"VERDICT: {verdict}: {sum(verdicts)}/{len(verdicts)} targets met, total {total:.1f} s"
          + (" [--quick: tiny training and T, these numbers are not the benchmark]" if args.quick else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
