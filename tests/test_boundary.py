"""The boundary between hidden tests and the student's code: what may cross, and how failures are told."""
import io
import pickle

import pytest
import torch

import course_lib as cl
from course_lib.checks import boundary
from course_lib.checks.boundary import BoundaryError, Build, Ref, StudentError, decode, dumps, encode, loads


def test_plain_data_round_trips():
    value = {"x": torch.randn(3, 2), "n": 3, "f": 0.5, "flag": True, "none": None, "s": "ok",
             "pair": (torch.ones(2), [1, 2.0]), "nested": {"deep": [torch.zeros(1)]}}
    back = loads(dumps(encode(value)))
    assert back.keys() == value.keys() and isinstance(back["pair"], tuple) and torch.equal(back["x"], value["x"])
    assert back["nested"]["deep"][0].shape == (1,)


def test_tensors_cross_as_plain_detached_copies():
    p = torch.nn.Parameter(torch.ones(3))
    out = encode(p * 2)
    assert type(out) is torch.Tensor and not out.requires_grad
    assert type(encode(torch.nn.Parameter(torch.ones(2)))) is torch.Tensor
    base = torch.zeros(1000)
    assert encode(base[:3]).untyped_storage().nbytes() == 3 * 4       # a view does not carry its base


@pytest.mark.parametrize("value, says", [
    (torch.nn.Linear(2, 2), "cannot be sent back to the grader"),
    (lambda: 1, "cannot be sent back"),
    ({1: torch.ones(1)}, "keys are not all strings"),
    ("x" * 20_000, "at most 10000"),
    (torch.ones(2).numpy(), "torch.as_tensor"),
    (iter([1]), "cannot be sent back"),
])
def test_what_cannot_cross_is_refused_clearly(value, says):
    with pytest.raises(BoundaryError, match=says):
        encode(value, "the result")


def test_nesting_is_bounded():
    deep = []
    for _ in range(40):
        deep = [deep]
    with pytest.raises(BoundaryError, match="nested"):
        encode(deep)


def test_the_loader_runs_no_code():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    buffer = io.BytesIO()
    torch.save({"ok": True, "value": Evil()}, buffer)
    with pytest.raises(pickle.UnpicklingError):
        loads(buffer.getvalue())


def test_builds_only_public_course_names():
    op = Build("Convolution1D", cl.gaussian_kernel(2.0, ndim=1), 30, padding="zeros").make()
    assert isinstance(op, cl.Convolution1D)
    assert isinstance(Build("lifting.WaveletTransform", (8, 8), "haar", levels=1).make(), cl.lifting.WaveletTransform)
    for name in ("tools.grading.grade", "checks.boundary.serve", "_private", "operators._helper", "os.system", ""):
        with pytest.raises(BoundaryError):
            Build(name)
    sent = decode(encode(Build("MatrixOperator", torch.eye(3))), namespace={})
    assert isinstance(sent, cl.MatrixOperator)
    with pytest.raises(BoundaryError):
        Ref("not a name")


def test_local_student_calls_through_the_encoding(monkeypatch):
    import __main__

    monkeypatch.setattr(__main__, "double", lambda x: 2 * x, raising=False)
    monkeypatch.setattr(__main__, "net_maker", lambda: torch.nn.Linear(1, 1), raising=False)
    monkeypatch.setattr(__main__, "boom", lambda: [][1], raising=False)
    assert torch.equal(boundary.student.double(torch.ones(2)), 2 * torch.ones(2))
    with pytest.raises(StudentError, match="cannot be sent back"):
        boundary.student.net_maker()
    with pytest.raises(StudentError, match="your boom raised IndexError"):
        boundary.student.boom()
    with pytest.raises(StudentError, match="your nothing_here is not defined in your notebook"):
        boundary.student.nothing_here()


def test_untrusted_replies_give_only_the_courses_words():
    sources = {"soft_threshold": "def soft_threshold(x, lam):\n    return x / 0\n"}
    said = boundary.describe_failure({"ok": False, "kind": "raised", "ename": "ZeroDivisionError",
                                      "where": ["soft_threshold", 2]}, "your soft_threshold", sources, trusted=False)
    assert str(said) == ('your soft_threshold raised ZeroDivisionError, at line 2 of your cell "soft_threshold": '
                         '`return x / 0`')
    for forged in [{"ok": False, "kind": "raised", "ename": "SECRET_DATA_0xdeadbeef", "where": ["elsewhere", 1]},
                   {"ok": False, "kind": "unreadable", "message": "SECRET_DATA"},
                   {"ok": False, "kind": "request", "ename": "ValueError", "message": "SECRET_DATA"},
                   {"ok": False, "kind": "raised", "where": ["soft_threshold", 99]}]:
        text = str(boundary.describe_failure(forged, "your soft_threshold", sources, trusted=False))
        assert "SECRET" not in text and "line 99" not in text, text


def test_drivers_are_public_and_named():
    from course_lib.checks import drivers

    with pytest.raises(BoundaryError, match="not one of the course's drivers"):
        boundary.student.drive("os.system", "true")
    from course_lib import dip

    detector = drivers.detector_run(dip.WindowedVarianceDetector, 1, 2, [torch.ones(2) * k for k in range(5)])
    assert detector["said"] == [False, False, True] and detector["best_iteration"] == 1
    weight = torch.ones(2, requires_grad=True)
    through_autograd = drivers.inference_call(lambda x: torch.autograd.functional.jacobian(lambda v: weight * v, x),
                                              torch.ones(2))
    assert not through_autograd.any()                                    # autograd sees nothing in inference mode
    assert torch.equal(drivers.inference_call(torch.mul, weight, 2.0), 2 * torch.ones(2))


def test_the_grader_reads_only_small_plain_replies():
    from course_lib.tools.grading.remote import _plain_enough

    assert _plain_enough({"ok": True, "value": (torch.ones(3), [1, "a", None], {"k": 2.0})})
    wide = torch.ones(1).as_strided((10**6, 10**6), (0, 0))              # 8 bytes that claim 10^12 entries
    shared = [0]
    for _ in range(40):
        shared = [shared, shared]                                        # 2^40 paths through 80 lists
    for bad in [wide, torch.ones(4, 4).t(), shared, torch.empty(3, device="meta"),
                object(), [torch.ones(10**4)] * 6000]:
        assert not _plain_enough({"ok": True, "value": bad}), bad
