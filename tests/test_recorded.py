"""Every recorded long run is the one the current code and recipe make (by hash, without re-running it)."""
import pytest
import torch

from course_lib import adp, dip, recorded, unfolding

RECORDS = {"adp_long_runs": (adp.LONG_RUNS, adp._record_code, "python scripts/record_adp.py"),
           "dip_long_runs": (dip.LONG_RUNS, dip._record_code, "python scripts/record_dip.py"),
           "edip_runs": (dip.EDUCATED_RUNS, dip._educated_record_code, "python scripts/record_edip.py"),
           "unfolding_runs": (unfolding.LECTURE_RUNS, unfolding._record_code, "python scripts/record_unfolding.py")}


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_the_record_matches_the_code_and_the_recipe(name):
    recipe, code, command = RECORDS[name]
    assert recorded.stale(name, recipe, code()) is None
    facts = recorded.manifest(name)
    assert facts["command"] == command and facts["kib"] <= 1024, "a record stays small (at most 1 MiB)"


def test_a_changed_recipe_or_code_is_refused_with_the_command(tmp_path, monkeypatch):
    recipe = {"n": 3}
    monkeypatch.setattr(recorded, "RECORDS", tmp_path)
    recorded.save("toy", {"x": torch.ones(3)}, recipe, [recorded.save], "python scripts/toy.py", 0.1)
    assert torch.equal(recorded.load("toy", recipe, [recorded.save])["x"], torch.ones(3))
    with pytest.raises(RuntimeError, match="another recipe; regenerate it with: python scripts/toy.py"):
        recorded.load("toy", {"n": 4}, [recorded.save])
    with pytest.raises(RuntimeError, match="code that makes toy has changed"):
        recorded.load("toy", recipe, [recorded.load])
    (tmp_path / "toy.pt").write_bytes(b"changed")
    with pytest.raises(RuntimeError, match="not the file that was recorded"):
        recorded.load("toy", recipe, [recorded.save])


def test_the_adp_record_holds_what_lecture_07_reads():
    runs = adp.recorded_long_runs()
    for alpha in adp.LONG_RUNS["convergence"]["alphas"]:
        layers = runs["convergence"][str(alpha)]["layers"]
        assert len(layers["error"]) == adp.LONG_RUNS["convergence"]["n_iter"] and len(layers["gap"]) == 600
    assert runs["convergence"]["0.02"]["layers"]["gap"][-1] < 1e-10      # B settles: the layers reach x(B)
    for alpha in adp.LONG_RUNS["sparse"]["alphas"]:
        assert set(runs["sparse"][str(alpha)]) >= {"gd", "adam", "lasso_error", "lasso_residual"}


def test_the_dip_record_holds_what_lecture_06_reads():
    runs = dip.recorded_long_runs()
    denoise, n = runs["denoise"], dip.LONG_RUNS["n_iter"]
    assert len(denoise["psnr"]) == len(denoise["loss"]) == len(runs["tv"]["psnr"]) == n
    assert denoise["snapshot_iterations"] == dip.LONG_RUNS["snapshots"] and denoise["snapshots"].shape[1:] == (64, 64)
    assert 0 < denoise["es_iteration"] < denoise["es_stopped_at"] < n
    assert max(denoise["psnr"]) > denoise["psnr"][-1] + 1, "the recorded run shows the fall after the peak"
    assert set(runs["fitting"]) == {"image", "image + noise", "shuffled pixels", "uniform noise"}
    assert len(runs["deep_decoder"]["psnr"]) == n and runs["inpainting"]["snapshots"].shape[0] == 4


def test_the_educated_dip_record_holds_what_lecture_06_reads_and_its_weights_work():
    from course_lib.metrics import psnr

    runs, recipe = dip.recorded_educated_runs(), dip.EDUCATED_RUNS
    assert list(runs["images"]) == recipe["images"] and len(runs["pretrain_loss"]) == recipe["pretrain"]["n_iter"]
    for run in runs["images"].values():
        assert len(run["dip"]["psnr"]) == len(run["dip"]["loss"]) == recipe["dip"]["n_iter"]
        assert len(run["finetune"]["psnr"]) == len(run["finetune_tv"]["psnr"]) == recipe["finetune"]["n_iter"]
        assert len(run["tv"]) == len(recipe["tv_weights"]) and run["start"].shape == (recipe["size"],) * 2
    x, A, y = dip.educated_problem("camera")
    with torch.no_grad():                                   # the shipped weights give the recorded first output
        out = dip.pretrained_educated(runs)(dip.educated_input(A, y))[0, 0]
    loaded, given = dip.pretrained_educated().state_dict(), dip.pretrained_educated(runs).state_dict()
    assert all(torch.equal(loaded[k], given[k]) for k in loaded)          # read here or handed over: the same weights
    assert torch.allclose(out, runs["images"]["camera"]["start"], atol=1e-4)
    assert abs(psnr(out, x) - runs["images"]["camera"]["start_psnr"]) < 1e-3


def test_the_unfolding_record_holds_what_lecture_03_reads_and_its_weights_load():
    runs, recipe = unfolding.recorded_lecture_runs(), unfolding.LECTURE_RUNS
    T = recipe["sparse"]["T"]
    assert list(runs["sparse"]) == list(recipe["sparse"]["networks"])
    for name, run in runs["sparse"].items():
        layers = 1 if name in recipe["sparse"]["mlp_hidden"] else T          # a black box has one output
        assert len(run["untrained"]) == len(run["trained"]) == layers and run["trained"][-1] < run["untrained"][-1]
    assert set(runs["fista"]) == {str(lam) for lam in recipe["sparse"]["lams"]}
    A, x_test, _ = unfolding.sparse_problem()
    alista = unfolding.ALISTA(A, T, recipe["sparse"]["lam"])
    alista.load_state_dict(runs["sparse"]["ALISTA"]["state"], strict=False)
    with torch.no_grad():                                   # the recorded numbers give the recorded curve
        curve = unfolding.layer_nmse_db(alista(x_test @ A.T, all_layers=True), x_test)
    assert abs(curve[-1] - runs["sparse"]["ALISTA"]["trained"][-1].item()) < 0.05
    for key in ("light_field", "light_field_semi", "light_field_self"):
        unfolding.NonnegativeUnfoldedISTA(unfolding.light_field_operator(), n_layers=recipe["light_field"]["layers"],
                                          lam=recipe["light_field"]["lam"]).load_state_dict(runs[key]["state"])
    unfolding.UnfoldedRPCA(n_layers=recipe["rpca"]["layers"]).load_state_dict(runs["rpca"]["state"])


def test_record_runs_times_and_saves(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(recorded, "RECORDS", tmp_path)
    threads = torch.get_num_threads()
    try:
        path = recorded.record("toy", lambda recipe, progress: {"x": torch.full((2,), float(recipe["n"]))}, {"n": 2},
                               [recorded.save], "python scripts/toy.py")
    finally:
        torch.set_num_threads(threads)
    assert path == tmp_path / "toy.pt" and "wrote" in capsys.readouterr().out
    assert torch.equal(recorded.load("toy", {"n": 2}, [recorded.save])["x"], torch.full((2,), 2.0))
