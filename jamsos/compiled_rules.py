"""The rules compiled with mypyc, used when built for exactly the sources in the tree.

`jamsos/rules` is pure, typed Python, which mypyc compiles to C extension modules of the
same names. The worker calls the rules for every event, and so does `jamsos replay`;
compiled, they run about twice as fast (see the README's measurements).

Compiled code must never outlive its source: a `.so` beside an edited `.py` would run the
old rule silently. So the build goes to a folder named by a digest of the rules' sources
(`build/mypyc/<python>-<digest>/`, never beside them), and `jamsos.rules` looks for the
folder of the sources it has (`activate`). An edited rule has another digest: until the
next `make` builds it, the pure-Python rules run. Where mypyc or a C compiler is missing,
the build says so and the pure-Python rules run too. `jamsos/rules/__init__.py` itself is
never compiled: it does the looking.

`python -m jamsos.compiled_rules` builds (what `make` runs); `--check` exits 1 when the
compiled rules are missing for the sources.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import MutableSequence
from pathlib import Path

RULES_DIR = Path(__file__).resolve().parent / "rules"
BUILD_ROOT = RULES_DIR.parent.parent / "build" / "mypyc"
GROUP = "jamsos_rules"
"""Name of the shared library mypyc builds for the modules (`jamsos_rules__mypyc`)."""

DISABLED = False
"""Set before `jamsos.rules` is first imported to run the pure-Python rules (tests)."""


def sources() -> list[Path]:
    """The rule modules that are compiled: every one but the package's `__init__`."""
    return sorted(p for p in RULES_DIR.glob("*.py") if p.name != "__init__.py")


def build_dir() -> Path:
    """Where the rules compiled for the current sources and Python are (or would be)."""
    digest = hashlib.sha256()
    for path in sources():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return BUILD_ROOT / f"{sys.implementation.cache_tag}-{digest.hexdigest()[:16]}"


def activate(package_path: MutableSequence[str]) -> bool:
    """Put the compiled modules first on the rules package's path if they were built for
    these sources; returns whether they were. Called by `jamsos/rules/__init__.py`."""
    if DISABLED:
        return False
    built = build_dir()
    modules = built / "jamsos" / "rules"
    if not modules.is_dir():
        return False
    if str(built) not in sys.path:
        sys.path.append(str(built))  # the shared library is a top-level module
    package_path.insert(0, str(modules))
    return True


def build(log: Path) -> bool:
    """Compile the rules into `build_dir()` unless already there; the compiler's output
    goes to `log`. Returns whether compiled rules are in place."""
    target = build_dir()
    if target.is_dir():
        return True
    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mypyc-") as scratch:
        work = Path(scratch)
        package = work / "jamsos" / "rules"
        package.mkdir(parents=True)
        (work / "jamsos" / "__init__.py").write_text("")
        (package / "__init__.py").write_text("")
        names = []
        for path in sources():
            shutil.copy2(path, package / path.name)
            names.append(f"jamsos/rules/{path.name}")
        out = work / "out"
        script = (
            "from setuptools import setup\n"
            "from mypyc.build import mypycify\n"
            f"setup(name='jamsos-rules', ext_modules=mypycify({names!r}, group_name={GROUP!r}),"
            f" script_args=['build_ext', '--build-lib', {str(out)!r},"
            f" '--build-temp', {str(work / 'temp')!r}])\n"
        )
        with log.open("w") as output:
            done = subprocess.run(
                [sys.executable, "-c", script],
                cwd=work,
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0 or not (out / "jamsos" / "rules").is_dir():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=".incoming-", dir=target.parent))
        shutil.copytree(out, staged, dirs_exist_ok=True)
        try:
            staged.rename(target)  # whole or not at all: a reader never sees half a build
        except OSError:
            shutil.rmtree(staged, ignore_errors=True)
            if not target.is_dir():  # not another build finishing first
                raise
    return True


def main(argv: list[str]) -> int:
    if argv[1:] == ["--check"]:
        if build_dir().is_dir():
            return 0
        print("the compiled rules are not built for these sources: run `make`", file=sys.stderr)
        return 1
    log = BUILD_ROOT / "build.log"
    if build(log):
        print(f"rules compiled with mypyc: {build_dir()}")
    else:
        print(f"compiling the rules with mypyc failed; the pure-Python rules run (log: {log})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
