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
  deep supervision, which pushes every layer down. Training seconds (of one training run, not
  repeated: they vary with the machine's load) and trainable parameters;
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
The figures, the targets and the verdict are also written as JSON, to benchmarks/results/unfolding_lista.json
(unfolding_lista-quick.json with --quick) or to ``--json PATH`` (see benchmarks/README.md).
"""
from __future__ import annotations

import time

START = time.perf_counter()  # "Total" includes the imports

import math
import sys

import torch
from _common import first_k, k_text, nmse_curve, progress
from _report import BenchmarkParser, report, target  # (importing _report puts the repository on sys.path)

from course_lib.data import add_noise, gaussian_matrix, sparse_signals
from course_lib.operators import MatrixOperator
from course_lib.solvers import fista, ista
from course_lib.training import train
from course_lib.unfolding import ALISTA, LISTA, LISTA_CP, all_layer_log_loss, every_layer, layer_nmse_db

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
# count options: name, default ('-': chosen by the script), --quick value, help
COUNTS = """
layers      16     4    T, layers of the networks / solver iterations
test        1000   200  test samples
val         500    100  validation samples
steps       -      20   Adam steps for every network (default: per network)
fista-max   2000   100  FISTA iterations for 'worth K'
"""


def parse_args(argv=None):
    parser = BenchmarkParser(__doc__, COUNTS, "noiseless setting only (unless --settings)", threads=2, device=True)
    parser.add_argument("--settings", default=None,
                        help="comma-separated: noiseless, <snr>dB (default noiseless,40dB; --quick: noiseless)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {METHODS}")
    parser.add_argument("--keep-denormals", action="store_true",
                        help="do not flush subnormal floats to zero (they slow FISTA's large-lambda runs ~8x)")
    args = parser.parse(argv)
    settings = args.settings or ("noiseless" if args.quick else "noiseless,40dB")
    args.settings = [s.strip() for s in settings.split(",") if s.strip()]
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for s in args.settings:
        if s != "noiseless" and not (s.endswith("dB") and _is_number(s[:-2])):
            parser.error(f"--settings: {s!r} is neither 'noiseless' nor '<snr>dB' (e.g. 40dB)")
    unknown = set(args.methods) - set(METHODS)
    if unknown:
        parser.error(f"--methods: unknown {sorted(unknown)}; choose from {METHODS}")
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
def flat(curve) -> bool:
    """A FISTA run sits on its LASSO floor: its NMSE moved < 0.01 dB over the last 200 iterations (checked every 50)."""
    k = len(curve) - 1
    return k >= 200 and k % 50 == 0 and abs(curve[-201] - curve[-1]) < 0.01


def solver_curve(solver, A, y, x, lam, n_iter, step, stop_flat=False) -> list:
    """NMSE (dB) of iterates 1..n_iter; with stop_flat, stop once it is :func:`flat` (the rest of the curve is
    then filled with the last value)."""
    curve = nmse_curve(solver, MatrixOperator(A), y, x, lam, n_iter, step, stop=flat if stop_flat else None)
    return curve + [curve[-1]] * (n_iter - len(curve))


def tuned_solver(solver, A, val, test, T, step):
    """The lambda of the grid with the best validation NMSE at iteration T, and its test curve."""
    lam = min(LAM_GRID, key=lambda lam: solver_curve(solver, A, *val, lam, T, step)[-1])
    return dict(curve=solver_curve(solver, A, *test, lam, T, step), lam=lam, seconds=None, params=0)


def trained_network(name, A, val, test, sampler, args):
    build, n_iter, lr = NETWORKS[name]
    torch.manual_seed(args.seed)
    net = build(A, args.layers)
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    net, history = train(net, sampler, n_iter=args.steps or n_iter, lr=lr, loss_fn=all_layer_log_loss,
                         predict=every_layer, validation=val, eval_every=50, seed=args.seed, progress=False,
                         description=name)
    with torch.no_grad():
        curve = layer_nmse_db(every_layer(net, test[0]), test[1])
    return dict(curve=curve, lam=INIT_LAM, seconds=history.seconds, params=params,
                best_iteration=history.best_iteration)


def fista_envelope(A, test, step, n_iter) -> list:
    """Per K, the best test NMSE of FISTA over WORTH_GRID."""
    curves = [solver_curve(fista, A, *test, lam, n_iter, step, stop_flat=True) for lam in WORTH_GRID]
    return [min(values) for values in zip(*curves)]


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
        progress(f"{setting}: {name}", START)
    envelope = fista_envelope(A, test, step, args.fista_max)
    for row in rows.values():
        row["worth"] = first_k(envelope, row["curve"][-1])
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
        worth = k_text(row["worth"], len(result["envelope"]))
        print(f"{name:<12}{row['lam']:>6g}{cells}{seconds:>9}{row['params']:>10}{worth:>9}")
    env = result["envelope"]
    ks = envelope_ks(env)
    print("lam: tuned on the validation set (ISTA, FISTA) / of the initialisation (networks); "
          "FISTA K: iterations of FISTA (best lam per K) to match layer T; "
          "train s: one training run each (not repeated)")
    print(f"FISTA, best lam of {min(WORTH_GRID):g}..{max(WORTH_GRID):g} per K: "
          + ", ".join(f"K = {k}: {env[k - 1]:.2f} dB" for k in ks))
    best = [f"{name} {row['best_iteration']}" for name, row in result["rows"].items() if "best_iteration" in row]
    if best:
        print("Step of the best validation loss (the weights kept): " + ", ".join(best))


def envelope_ks(envelope) -> list:
    return [k for k in (16, 100, 500, 2000) if k <= len(envelope)]


def figures(results, args) -> dict:
    """The JSON figures: per setting, per method the NMSE of every layer (item k-1: layer k), lam, training
    seconds, parameters, the step of the kept weights (networks), FISTA K (None: not within fista_max)."""
    out = dict(layers=args.layers, test=args.test, val=args.val, fista_max=args.fista_max, settings={})
    for setting, result in results.items():
        env = result["envelope"]
        rows = {name: dict(lam=row["lam"], nmse_db=row["curve"], train_seconds=row["seconds"], params=row["params"],
                           best_iteration=row.get("best_iteration"), fista_k=row["worth"])
                for name, row in result["rows"].items()}
        out["settings"][setting] = dict(methods=rows, fista_best_lam_nmse_db={k: env[k - 1] for k in envelope_ks(env)})
    return out


def targets(results, args) -> list:
    """The four targets (noiseless); a value is None when its method was not run."""
    rows = results.get("noiseless", {}).get("rows", {})

    def last(name):
        return rows[name]["curve"][-1] if name in rows else None

    alista, fista16, cpss = last("ALISTA"), last("FISTA"), last("LISTA-CPSS")
    seconds = rows["ALISTA"]["seconds"] if "ALISTA" in rows else None
    gain = None if alista is None or fista16 is None else fista16 - alista
    T = args.layers
    return [
        target(f"ALISTA-{T} <= -40 dB (noiseless)", alista, "<=", -40, "{:.2f} dB"),
        target("ALISTA training <= 60 s (noiseless)", seconds, "<=", 60, "{:.1f} s (one run)"),
        target(f"ALISTA-{T} >= 25 dB better than FISTA-{T} (noiseless)", gain, ">=", 25, "{:.2f} dB better"),
        target(f"LISTA-CPSS-{T} <= -30 dB (noiseless)", cpss, "<=", -30, "{:.2f} dB"),
    ]


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_flush_denormal(not args.keep_denormals)  # speed only: values below 1.2e-38 become 0
    print("Deep unfolding: A 250x500 Gaussian (unit-norm columns), Bernoulli-Gaussian p = 0.1, "
          f"T = {args.layers}, float32, device {args.device}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, denormals {'kept' if args.keep_denormals else 'flushed'}"
          + (" [--quick]" if args.quick else ""))
    results = {}
    for setting in args.settings:
        results[setting] = run_setting(setting, args)
        print_table(setting, results[setting], args)
    report("unfolding_lista", figures(results, args), targets(results, args), time.perf_counter() - START,
           args.quick, args.json, vars(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
