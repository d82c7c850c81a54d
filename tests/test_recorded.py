"""Every recorded long run is the one the current code and recipe make (by hash, without re-running it)."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_lib import adp as cl_adp
from course_lib import dip, unfolding
from course_lib.domains import DOMAINS
from course_lib.lectures import (
    adp_runs,
    all_records,
    architecture_runs,
    dip_runs,
    domain_runs,
    edip_runs,
    recorded,
    unfolding_long_runs,
    unfolding_runs,
)
from course_lib.metrics import psnr
from course_lib.solvers import tikhonov

ROOT = Path(__file__).resolve().parent.parent
TOY = "course_lib.lectures.recorded"       # a module whose code "makes" the toy records of these tests


#: Records not yet in ``course_lib.lectures.RECORDS``: every record's hash covers the package's ``__init__.py`` (a
#: relative import reaches it), so registering one there makes the others stale until they are re-recorded; the next
#: re-recording of all of them registers these too.
UNREGISTERED = {"architecture_runs": architecture_runs.RECORD, "domain_runs": domain_runs.RECORD,
                "unfolding_long_runs": unfolding_long_runs.RECORD}


def every_record() -> dict:
    return {**all_records(), **UNREGISTERED}


@pytest.mark.parametrize("name", sorted(every_record()))
def test_the_record_matches_the_code_and_the_recipe(name):
    record = every_record()[name]
    assert record.stale() is None
    facts = recorded.manifest(name)
    assert facts["command"] == record.command and facts["kib"] <= 1024, "a record stays small (at most 1 MiB)"
    assert facts["modules"] == recorded.modules_of(record.module)
    script = ROOT / record.command.split()[-1]
    assert script.is_file() and record.module.rpartition(".")[2] in script.read_text(), \
        f"{record.command} does not run {record.module}"


def test_a_changed_recipe_or_code_is_refused_with_the_command(tmp_path, monkeypatch):
    recipe = {"n": 3}
    monkeypatch.setattr(recorded, "RECORDS", tmp_path)
    recorded.save("toy", {"x": torch.ones(3)}, recipe, TOY, "python scripts/toy.py", 0.1)
    assert torch.equal(recorded.load("toy", recipe, TOY)["x"], torch.ones(3))
    with pytest.raises(RuntimeError, match="another recipe; regenerate it with: python scripts/toy.py"):
        recorded.load("toy", {"n": 4}, TOY)
    with pytest.raises(RuntimeError, match="code that makes toy has changed"):
        recorded.load("toy", recipe, "course_lib.prox")
    (tmp_path / "toy.pt").write_bytes(b"changed")
    with pytest.raises(RuntimeError, match="not the file that was recorded"):
        recorded.load("toy", recipe, TOY)


def test_the_code_of_a_record_is_every_module_it_imports_without_docstrings_or_comments():
    """One mechanism for every record: the modules the recording imports, transitively, as syntax trees."""
    modules = recorded.modules_of("course_lib.lectures.dip_runs")
    assert {"course_lib.lectures.dip_runs", "course_lib.dip", "course_lib.functionals", "course_lib.operators",
            "course_lib.data", "course_lib.training", "course_lib.lectures.recorded"} <= set(modules)
    assert "course_lib.unfolding" not in modules and "course_lib" not in modules
    code = "def f(x):\n    return x + 1\n"
    same = '"""A module."""\n# a comment\ndef f(x):\n    """Add one."""\n\n    return (x +\n            1)  # one\n'
    assert recorded.code_fingerprint(code) == recorded.code_fingerprint(same)
    assert recorded.code_fingerprint(code) != recorded.code_fingerprint(code.replace("1", "2"))


def test_the_mathematics_never_imports_the_recordings():
    """course_lib/lectures imports the mathematics, never the other way round (nor the machinery)."""
    package = ROOT / "course_lib"
    for path in sorted(package.glob("*.py")):
        module = f"course_lib.{path.stem}" if path.stem != "__init__" else "course_lib"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                target = ("." * node.level) + (node.module or "")
                assert not target.startswith((".lectures", ".tools", ".checks", "course_lib.lectures",
                                              "course_lib.tools", "course_lib.checks")), \
                    f"{module} imports {target}: the mathematics must not import the recordings or the machinery"
    python = subprocess.run([sys.executable, "-c", "import sys, course_lib, course_lib.dip, course_lib.adp, "
                             "course_lib.unfolding, course_lib.lifting; print(any(m.startswith('course_lib.lectures') "
                             "for m in sys.modules))"], capture_output=True, text=True, check=True)
    assert python.stdout.strip() == "False"


def test_the_adp_record_holds_what_lecture_07_reads():
    runs = adp_runs.recorded()
    for alpha in adp_runs.RECIPE["convergence"]["alphas"]:
        layers = runs["convergence"][str(alpha)]["layers"]
        assert len(layers["error"]) == adp_runs.RECIPE["convergence"]["n_iter"] and len(layers["gap"]) == 600
    assert runs["convergence"]["0.02"]["layers"]["gap"][-1] < 1e-10      # B settles: the layers reach x(B)
    c = adp_runs.RECIPE["convergence"]
    A, _, y, _ = cl_adp.integration_example(n=c["n"], index=c["index"], noise=c["noise"], seed=c["seed"])
    for alpha in c["alphas"]:
        run = runs["convergence"][str(alpha)]
        assert run["B_change_snapshot"].shape == A.shape and run["x_snapshot"].shape == (c["n"],)
        B = A + run["B_change_snapshot"].double()
        assert torch.allclose(tikhonov(B, y, alpha), run["x_snapshot"], atol=1e-4), "the snapshot's x is x(B)"
    for alpha in adp_runs.RECIPE["sparse"]["alphas"]:
        assert set(runs["sparse"][str(alpha)]) >= {"gd", "adam", "lasso_error", "lasso_residual"}


def test_the_dip_record_holds_what_lecture_06_reads():
    runs = dip_runs.recorded()
    denoise, n = runs["denoise"], dip_runs.RECIPE["n_iter"]
    assert len(denoise["psnr"]) == len(denoise["loss"]) == len(runs["tv"]["psnr"]) == n
    assert denoise["snapshot_iterations"] == dip_runs.RECIPE["snapshots"] and denoise["snapshots"].shape[1:] == (64, 64)
    assert 0 < denoise["es_iteration"] < denoise["es_stopped_at"] < n
    assert max(denoise["psnr"]) > denoise["psnr"][-1] + 1, "the recorded run shows the fall after the peak"
    assert set(runs["fitting"]) == {"image", "image + noise", "shuffled pixels", "uniform noise"}
    assert len(runs["deep_decoder"]["psnr"]) == n and runs["inpainting"]["snapshots"].shape[0] == 4


def test_the_educated_dip_record_holds_what_lecture_06_reads_and_its_weights_work():
    from course_lib.metrics import psnr

    runs, recipe = edip_runs.recorded(), edip_runs.RECIPE
    assert list(runs["images"]) == recipe["images"] and len(runs["pretrain_loss"]) == recipe["pretrain"]["n_iter"]
    for run in runs["images"].values():
        assert len(run["dip"]["psnr"]) == len(run["dip"]["loss"]) == recipe["dip"]["n_iter"]
        assert len(run["finetune"]["psnr"]) == len(run["finetune_tv"]["psnr"]) == recipe["finetune"]["n_iter"]
        assert len(run["tv"]) == len(recipe["tv_weights"]) and run["start"].shape == (recipe["size"],) * 2
    x, A, y = edip_runs.problem("camera")
    with torch.no_grad():                                   # the shipped weights give the recorded first output
        out = edip_runs.pretrained(runs)(dip.educated_input(A, y))[0, 0]
    loaded, given = edip_runs.pretrained().state_dict(), edip_runs.pretrained(runs).state_dict()
    assert all(torch.equal(loaded[k], given[k]) for k in loaded)          # read here or handed over: the same weights
    assert torch.allclose(out, runs["images"]["camera"]["start"], atol=1e-4)
    assert abs(psnr(out, x) - runs["images"]["camera"]["start_psnr"]) < 1e-3


def test_the_unfolding_record_holds_what_lecture_03_reads_and_its_weights_load():
    runs, recipe = unfolding_runs.recorded(), unfolding_runs.RECIPE
    T = recipe["sparse"]["T"]
    assert list(runs["sparse"]) == list(recipe["sparse"]["networks"])
    for name, run in runs["sparse"].items():
        layers = 1 if name in recipe["sparse"]["mlp_hidden"] else T          # a black box has one output
        assert len(run["untrained"]) == len(run["trained"]) == layers and run["trained"][-1] < run["untrained"][-1]
        assert len(run["val_loss"]) == len(run["val_iteration"]) and run["val_iteration"][-1] == run["steps"]
    assert set(runs["fista"]) == {str(lam) for lam in recipe["sparse"]["lams"]}
    lams = {str(lam) for lam in recipe["baselines"]["lams"]}
    for problem in ("conv", "light_field"):
        assert set(runs["baselines"][problem]["ISTA"]) == set(runs["baselines"][problem]["FISTA"]) == lams
        first = str(recipe["baselines"]["lams"][0])
        assert len(runs["baselines"][problem]["ISTA"][first]) == recipe["baselines"]["ista_iter"]
    grid = recipe["rpca"]["grid"]
    assert len(runs["baselines"]["rpca"]) == len(grid["lam_low_rank"]) * len(grid["lam_sparse"])
    A, x_test, _ = unfolding_runs.sparse_problem()
    alista = unfolding.ALISTA(A, T, recipe["sparse"]["lam"])
    alista.load_state_dict(runs["sparse"]["ALISTA"]["state"], strict=False)
    with torch.no_grad():                                   # the recorded numbers give the recorded curve
        curve = unfolding.layer_nmse_db(alista(x_test @ A.T, all_layers=True), x_test)
    assert abs(curve[-1] - runs["sparse"]["ALISTA"]["trained"][-1].item()) < 0.05
    for key in ("light_field", "light_field_long", "light_field_semi", "light_field_self"):
        unfolding.NonnegativeUnfoldedISTA(unfolding_runs.light_field_operator(),
                                          n_layers=recipe["light_field"]["layers"],
                                          regulariser=recipe["light_field"]["lam"]).load_state_dict(runs[key]["state"])
    unfolding.UnfoldedRPCA(n_layers=recipe["rpca"]["layers"]).load_state_dict(runs["rpca"]["state"])


def test_the_long_unfolding_record_is_the_same_training_with_longer_budgets():
    """Lecture 03 puts the long runs in the place of the short ones: same problem, learning rate and fields."""
    short, long = unfolding_runs.RECIPE["sparse"], unfolding_long_runs.RECIPE["sparse"]
    assert {k: v for k, v in long.items() if k not in ("networks", "lams")} == \
        {k: v for k, v in short.items() if k not in ("networks", "lams")}
    for name, (steps, lr) in long["networks"].items():
        assert lr == short["networks"][name][1] and steps > short["networks"][name][0]
    runs, before = unfolding_long_runs.recorded(), unfolding_runs.recorded()["sparse"]
    assert list(runs) == list(long["networks"])
    for name, run in runs.items():
        assert set(run) == set(before[name]) and run["steps"] == long["networks"][name][0]
        assert run["val_iteration"][-1] == run["steps"] and len(run["trained"]) == short["T"]
        assert torch.equal(run["untrained"], before[name]["untrained"])       # the same network, the same test set


def test_plateau_change_is_the_relative_gain_of_the_kept_checkpoint_over_the_last_tenth():
    steps = torch.arange(100, 1100, 100)                    # checks at 100, ..., 1000: the last tenth is 900 -> 1000
    mse = torch.tensor([1.0, 0.5, 0.4, 0.3, 0.25, 0.2, 0.2, 0.16, 0.1, 0.099], dtype=torch.float64)
    assert unfolding_runs.plateau_change(steps, mse.log()) == pytest.approx(1 - 0.099 / 0.1)
    noisy = mse.clone()
    noisy[-1] = 0.5                                          # a worse last check: the kept checkpoint did not move
    assert unfolding_runs.plateau_change(steps, noisy.log()) == pytest.approx(0.0)
    assert unfolding_runs.plateau_change(steps, mse.log(), tenth=0.3) == pytest.approx(1 - 0.099 / 0.2)
    with pytest.raises(ValueError, match="fraction"):
        unfolding_runs.plateau_change(steps, mse.log(), tenth=1.5)
    with pytest.raises(ValueError, match="equal length"):
        unfolding_runs.plateau_change(steps[:3], mse.log())


def test_record_runs_times_and_saves(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(recorded, "RECORDS", tmp_path)
    threads = torch.get_num_threads()
    try:
        path = recorded.record("toy", lambda recipe, progress: {"x": torch.full((2,), float(recipe["n"]))}, {"n": 2},
                               TOY, "python scripts/toy.py")
    finally:
        torch.set_num_threads(threads)
    assert path == tmp_path / "toy.pt" and "wrote" in capsys.readouterr().out
    assert torch.equal(recorded.load("toy", {"n": 2}, TOY)["x"], torch.full((2,), 2.0))


def test_the_architecture_record_holds_what_lecture_02_reads():
    runs, recipe = architecture_runs.recorded(), architecture_runs.RECIPE
    eq = recipe["equivariance"]
    for name in ("P4CNN", "CNN", "CNN + rotations"):
        table = runs["equivariance"]["accuracy"][name]
        assert table.shape == (len(eq["sizes"]), len(eq["seeds"])) and ((0 <= table) & (table <= 1)).all()
    arms, c = runs["arms"], recipe["arms"]
    assert set(arms) == set(architecture_runs.ARMS) | {"alphas"}
    for name in architecture_runs.ARMS:
        arm = arms[name]
        assert arm["lr"] in c["lrs"] and arm["validation"].shape == (len(c["lrs"]),)
        assert arm["validation"][c["lrs"].index(arm["lr"])] == arm["validation"].max(), "the step size is the tuned one"
        assert arm["curve"].shape == (len(c["seeds"]), c["n_iter"] // c["curve_every"])
        assert arm["slice"].shape == (len(c["seeds"]), c["slice"]) and arm["test_accuracy"].shape == (len(c["seeds"]),)
    for name in ("residual", "plain"):
        scape = runs["landscapes"][name]
        assert scape["surface"].shape == (recipe["landscapes"]["grid"],) * 2 and scape["depth"] == 56
    x = torch.arange(10.0)[:, None]
    assert [len(part) for part in architecture_runs.validation_split(x, x, 0.2)] == [8, 8, 2, 2]


def test_the_domain_record_holds_what_lecture_05_reads_and_its_networks_give_its_figures():
    runs, recipe = domain_runs.results(), domain_runs.RECIPE
    A = domain_runs.problem()
    tests = torch.stack(list(domain_runs.held_out_images().values()))
    n_evaluations = recipe["n_iter"] // recipe["eval_every"]
    for domain in DOMAINS:
        scores = runs["lr_psnr"][domain]
        assert scores.shape == (len(recipe["lrs"]),)
        assert runs["lr"][domain] == recipe["lrs"][int(scores.argmax())], "each domain's rate is its tuned one"
        assert runs["held_out"][domain].shape == (len(recipe["seeds"]), len(tests))
        assert runs["curves"][domain].shape == (len(recipe["seeds"]), n_evaluations)
        model = domain_runs.pretrained_reconstructor(domain)
        with torch.no_grad():
            live = torch.tensor([psnr(model(A(x)), x) for x in tests])
        assert torch.allclose(live, runs["held_out"][domain][0].to(live.dtype), atol=0.02), \
            "the shipped weights are the first seed's"
    assert runs["tv_held_out"].shape == (len(tests), recipe["size"], recipe["size"])
    assert runs["tv_iterations"].shape == runs["tv_converged"].shape == (5 + len(tests),)
    assert torch.allclose(A(runs["tv_held_out"]), A(tests), atol=1e-4), "TV's reconstructions fit the data"
    assert domain_runs.validation_images().shape == (5, recipe["size"], recipe["size"])
    with pytest.raises(ValueError, match="expects one of image, k-space, wavelet"):
        domain_runs.pretrained_reconstructor("sinogram")
