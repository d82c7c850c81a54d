"""The set-up is what the README promises: a full pin set, environment.yml in agreement, CI = README."""
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import course  # noqa: E402  (the stdlib-only entry point at the repo root)


def lock_pins():
    lines = [line.strip() for line in (ROOT / "requirements-lock.txt").read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_lock_pins_every_package_exactly_once():
    pins = lock_pins()
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", p)
               for p in pins), "every lock line is name==version"
    names = [p.split("==")[0].lower().replace("_", "-") for p in pins]
    assert len(names) == len(set(names))
    assert "torch==2.13.0" in pins, "torch must be pinned to exactly 2.13.0 (the provisioned CPU wheel)"
    assert "setuptools" in names, "setuptools is pinned: course_lib is installed with --no-build-isolation"


def test_every_direct_requirement_is_locked():
    names = {p.split("==")[0].lower().replace("_", "-") for p in lock_pins()}
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert re.split(r"[=<>!~\[ ]", line)[0].lower() in names, f"{line} is not in requirements-lock.txt"


def test_environment_yml_agrees_with_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps and "pip" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict))
    assert sorted(pip_section, key=str.lower) == sorted(lock_pins(), key=str.lower), \
        "environment.yml and requirements-lock.txt disagree: run `python3 course.py lock --write`"


def test_pyproject_pins_the_same_torch():
    assert '"torch==2.13.0"' in (ROOT / "pyproject.toml").read_text()


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    assert ci == ["python3 course.py test"]
    assert "python3 course.py test" in readme and "python3 course.py open" in readme


def test_lock_lines_from_pip_freeze():
    freeze = ("Torch==2.13.0+cpu\npip==23.2.1\n-e git+x#egg=course_lib\ncourse-lib==0.1.0\nnumpy==2.4.6\n"
              "setuptools==84.2.1\n")
    assert course.pinned_lines(freeze) == ["numpy==2.4.6", "setuptools==84.2.1", "torch==2.13.0"]
