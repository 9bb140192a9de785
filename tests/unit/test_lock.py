"""requirements.txt, the lock that scripts/venv.sh installs, covers pyproject.toml and checks every file.

pip installs the lock with --require-hashes, so a package that pyproject.toml names but the lock
lacks, or an entry without a hash, breaks a fresh clone's `make`: these tests say so first, and
`make lock` is the fix.
"""

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.txt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def entries() -> list[str]:
    """The lock's requirement entries, each with its continuation lines joined and comments dropped."""
    text = re.sub(r"\s*#.*$", "", LOCK.read_text(), flags=re.M)
    return [e.strip() for e in text.replace("\\\n", " ").splitlines() if e.strip()]


def pins() -> dict[str, Version]:
    found = {}
    for entry in entries():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", entry)
        assert match, f"not pinned with ==: {entry}"
        found[canonicalize_name(match[1])] = Version(match[2])
    return found


def declared() -> list[Requirement]:
    """What pyproject.toml asks for: the dependencies, the dev extra that make installs, the build backend."""
    project = PYPROJECT["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"] + PYPROJECT["build-system"]["requires"]
    return [Requirement(r) for r in wanted]


def test_every_entry_is_pinned_with_a_sha256_hash():
    assert entries()
    assert [e for e in entries() if not re.search(r"--hash=sha256:[0-9a-f]{64}\b", e)] == []
    assert [e for e in entries() if e.startswith("-") and not e.startswith("--hash")] == [], "options in the lock"


def test_every_dependency_of_pyproject_is_locked_at_a_version_it_accepts():
    locked = pins()
    missing = [str(r) for r in declared() if canonicalize_name(r.name) not in locked]
    assert missing == [], f"not in requirements.txt (run make lock): {missing}"
    unfit = [f"{r} (locked {v})" for r in declared() if (v := locked[canonicalize_name(r.name)]) not in r.specifier]
    assert unfit == [], f"locked outside pyproject.toml's range (run make lock): {unfit}"


def test_the_extras_that_pyproject_asks_for_are_locked_too():
    # eventsourcing[postgres] and psycopg[binary,pool] pull in packages of their own; their
    # metadata names them (read from .venv, which make installs from the lock).
    locked = pins()
    missing = []
    for req in declared():
        for extra in req.extras:
            for dep in map(Requirement, metadata.requires(req.name) or []):
                if dep.marker and dep.marker.evaluate({"extra": extra}) and not dep.marker.evaluate({"extra": ""}):
                    if canonicalize_name(dep.name) not in locked:
                        missing.append(f"{req.name}[{extra}] needs {dep.name}")
    assert missing == [], f"not in requirements.txt (run make lock): {missing}"


def test_pip_is_locked_since_it_installs_the_rest():
    assert "pip" in pins()
