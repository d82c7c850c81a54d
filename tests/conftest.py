import os

import pytest
import torch
from hypothesis import HealthCheck, settings

# Property tests: no per-example deadline (a busy 2-core CI machine is slow), a moderate count.
settings.register_profile("course", deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "course"))
torch.set_num_threads(1)


@pytest.fixture
def library_allowed(monkeypatch):
    """Checks tested with the library's own reference as the "student's" code: the own-work check is off
    (tests/test_own_work.py tests it)."""
    from course_lib import checks

    for module in (checks.lecture01, checks.lecture02, checks.lecture03, checks.lecture04, checks.lecture05,
                   checks.lecture06, checks.lecture07):
        monkeypatch.setattr(module, "check_own_work", lambda *args: None)


@pytest.fixture(scope="session")
def sandbox_here():
    """The grader's sandbox (bubblewrap) works here; else the test is skipped, except in CI (``CI`` set)."""
    from pathlib import Path

    from course_lib.tools.grading import SandboxUnavailable, check_sandbox

    try:
        check_sandbox(Path(__file__).resolve().parents[1])
    except SandboxUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"the grader's sandbox cannot run here: {error}")
        pytest.skip(f"the grader's sandbox cannot run here: {error}")


@pytest.fixture(scope="session")
def site_build(tmp_path_factory):
    """The course site, built once for the session: ``(folder, pages)``. tests/test_site.py reads it and
    tests/test_browser.py serves it; neither changes it."""
    from pathlib import Path

    from course_lib.tools import site

    out = tmp_path_factory.mktemp("site")
    return out, site.build_site(out, root=Path(__file__).resolve().parents[1], progress=False)
