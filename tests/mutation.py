"""Mutation testing of the core modules: does a test fail when one operator, constant or argument changes?

``python -m tests.mutation [module ...]`` (``make mutation``; every core module when none is named) runs
mutmut 3 on each module in turn, against that module's own tests plus ``tests/test_reader_mistakes.py``
(whose rows kill the mutants that switch a validation off), and prints per module the score

    killed / (killed + survived)

over the mutants some test runs (a mutant no test reaches is counted apart, as "not reached"; the
mutants of ``@torch.no_grad()``-decorated functions and properties are not made at all: mutmut 3 skips
decorated functions). The mutants listed in ``tests/mutation_equivalent.txt`` change nothing a caller can
observe; they are left out of the score and of the list of survivors, which follows with each one's diff.

Each module runs in its own folder ``mutants/<module>/`` (ignored by git): links to ``utils``, ``tests`` and
``pyproject.toml``, where mutmut makes its copy ``mutants/<module>/mutants/``. mutmut reads ``[tool.mutmut]``
from pyproject.toml; this driver narrows ``do_not_mutate`` to every other module and ``tests_dir`` to the
module's tests. ``MUTATION_JOBS`` sets the parallel test runs (default: the CPU count).

``python -m tests.mutation --report [module ...]`` prints the last run's results again;
``python -m tests.mutation --retest [module ...]`` runs the last run's survivors again against the tests as they
are now (after adding a test that should kill them), keeping the other results.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ("diffusion", "gpt", "train", "unet", "gan", "metrics", "lora", "tokenizer")
# Each module's own tests; the reader-mistake rows are added to every module's.
TESTS = {name: [f"tests/test_{name}.py"] for name in CORE}
TESTS["metrics"].append("tests/test_text_metrics.py")
for name in ("diffusion", "gan", "train"):  # the device guard of their loops and samplers is tested there
    TESTS[name].append("tests/test_device.py")
# The rows-for-every-function test would see mutmut's copies of each function (x_name__mutmut_1, ...) as
# public functions without rows: it skips itself under mutmut (which sets MUTANT_UNDER_TEST).
COMMON_TESTS = ["tests/test_reader_mistakes.py"]
EQUIVALENT = ROOT / "tests" / "mutation_equivalent.txt"
KILLED = {"killed", "timeout", "segfault", "suspicious"}  # a test failed, hung or crashed: the bug shows


def equivalent_mutants() -> dict[str, str]:
    """``{mutant name or pattern: why it changes nothing observable}`` from the equivalents file (``name: why``
    lines; a name may hold ``*``, as in ``utils.gpt.x_name__mutmut_*`` for every mutant of one function)."""
    found = {}
    for line in EQUIVALENT.read_text().splitlines() if EQUIVALENT.exists() else []:
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, why = line.partition(":")
            found[name.strip()] = why.strip()
    return found


def run_one(module: str, mode: str = "run") -> None:
    """Inside ``mutants/<module>/``: run mutmut on ``utils/<module>.py`` and write ``result.json``."""
    import difflib

    import libcst
    import mutmut
    import mutmut.__main__ as mm
    from _pytest.nodes import Node

    if not hasattr(Node, "_nodeid"):  # mutmut 3.3.1 reads item._nodeid, which pytest 9 renamed to nodeid
        Node._nodeid = property(lambda node: node.nodeid)
    config = mm.load_config()  # [tool.mutmut] of pyproject.toml
    config.do_not_mutate = ["utils/data/*", "utils/checks/*"] + [
        f"utils/{path.name}" for path in sorted(Path("utils").glob("*.py")) if path.stem != module]
    config.tests_dir = TESTS[module] + COMMON_TESTS
    mutmut.config = config
    jobs = int(os.environ.get("MUTATION_JOBS", os.cpu_count() or 2))
    data = mm.SourceFileMutationData(path=Path("utils") / f"{module}.py")
    data.load()
    before = dict(data.exit_code_by_key)
    # --retest: only the survivors of the last run, against the tests as they are now (mutmut makes its copy
    # afresh, forgetting every result, so the others' results are put back afterwards).
    names = [name for name, code in before.items() if code == 0] if mode == "retest" else []
    if mode != "collect" and (names or mode == "run"):
        try:
            mm._run(names, jobs)
        except SystemExit as stop:
            if stop.code:
                raise
        data.load()
        if names:
            data.exit_code_by_key = {name: code if name in names else before.get(name, code)
                                     for name, code in data.exit_code_by_key.items()}
            data.save()
    status = {name: mm.status_by_exit_code.get(code, str(code)) for name, code in data.exit_code_by_key.items()}
    mutated = mm.read_mutants_module(data.path)  # parsed once (mutmut's own show command parses it per mutant)
    diffs = {}
    for name, state in status.items():
        if state == "survived":
            before, after = (libcst.Module([read(mutated, name)]).code.strip().split("\n")
                             for read in (mm.read_original_function, mm.read_mutant_function))
            diffs[name] = "\n".join(difflib.unified_diff(before, after, str(data.path), str(data.path), lineterm=""))
    Path("result.json").write_text(json.dumps({"status": status, "diffs": diffs}, indent=1))


def _changed(diff: str) -> tuple[str, str]:
    """The removed and the added lines of a mutant's diff, each joined into one string."""
    lines = [line for line in diff.splitlines() if not line.startswith(("+++", "---", "@@"))]
    return ("\n".join(line[1:] for line in lines if line.startswith("-")),
            "\n".join(line[1:] for line in lines if line.startswith("+")))


def kind_of_survivor(diff: str) -> str:
    """``"wording"``: only the text inside string literals changed (an error message's words; the reader-mistake
    rows check the words that matter); ``"device"``: only a ``device=`` argument or a ``.to(device)`` was dropped
    or emptied, which changes nothing on a CPU: only a run on a GPU (the device guard, the smoke run) can catch
    it; ``"value"``: anything else, a bug a test should catch."""
    removed, added = _changed(diff)
    strings = re.compile(r"""(?:f|r|b)?("|')(?:\\.|(?!\1).)*\1""")
    if strings.sub('""', removed) == strings.sub('""', added):
        return "wording"

    def without_device(code: str) -> str:
        code = re.sub(r",?\s*device=(?:None|[\w.]+)", "", code)
        code = re.sub(r"\.to\((?:None|[\w.]*device)\)", "", code)
        return re.sub(r"\s+", "", re.sub(r",\s*\)", ")", code))

    if without_device(removed) == without_device(added):
        return "device"
    return "wording" if _only_names_a_check(removed, added) else "value"


def _only_names_a_check(removed: str, added: str) -> bool:
    """Whether both sides are one call of a ``check_*`` validator with the same checked value and keywords,
    differing only in the name and description it prints (a string, None, or left out): the check still runs."""
    import ast
    import textwrap

    def call(code: str):
        try:
            node = ast.parse(textwrap.dedent(code)).body
        except SyntaxError:
            return None
        value = node[0].value if len(node) == 1 and isinstance(node[0], (ast.Expr, ast.Assign)) else None
        if isinstance(value, ast.Call) and ast.unparse(value.func).lstrip("_").startswith("check_") and value.args:
            return value
        return None

    old, new = call(removed), call(added)
    if old is None or new is None or ast.dump(old.func) != ast.dump(new.func):
        return False
    if ast.dump(old.args[0]) != ast.dump(new.args[0]) or [ast.dump(k) for k in old.keywords] != [
            ast.dump(k) for k in new.keywords]:
        return False
    printed = lambda arg: isinstance(arg, ast.Constant) and (arg.value is None or isinstance(arg.value, str))
    return all(printed(arg) for arg in old.args[1:] + new.args[1:])


def report(module: str, result: dict, equivalent: dict[str, str]) -> float | None:
    status, diffs = result["status"], result["diffs"]
    is_equivalent = lambda name: any(fnmatch.fnmatchcase(name, pattern) for pattern in equivalent)
    counts: dict[str, int] = {}
    survivors: dict[str, list[str]] = {"value": [], "device": [], "wording": []}
    for name, state in status.items():
        if is_equivalent(name):
            state = "equivalent"
        elif state in KILLED:
            state = "killed"
        elif state == "survived":
            survivors[kind_of_survivor(diffs[name])].append(name)
        counts[state] = counts.get(state, 0) + 1
    killed, survived = counts.get("killed", 0), counts.get("survived", 0)
    values = len(survivors["value"])
    score = killed / (killed + survived) if killed + survived else None
    value_score = killed / (killed + values) if killed + values else None
    shown = lambda x: "n/a" if x is None else f"{x:.3f}"
    print(f"\n== utils/{module}.py: score {shown(score)} = {killed} killed / ({killed} + {survived} survived); "
          f"{counts.get('equivalent', 0)} equivalent (listed), {counts.get('no tests', 0)} not reached by any test, "
          f"{len(status)} mutants in all")
    print(f"   of the {survived} survivors, {values} change a computed value, {len(survivors['device'])} only drop "
          f"a device (a GPU run catches them), {len(survivors['wording'])} only reword a message: "
          f"score over value-changing mutants {shown(value_score)}")
    stale = [name for name in equivalent if name.startswith(f"utils.{module}.") and "*" not in name
             and (name not in status or status[name] in KILLED)]
    for name in stale:
        print(f"   (tests/mutation_equivalent.txt lists {name}, which is now killed or gone: remove the line)")
    for kind in ("value", "device", "wording"):
        for name in survivors[kind]:
            print(f"-- survived ({kind}): {name}\n{diffs[name]}")
    return score


def main(modules: list[str], step: str = "--one") -> int:
    unknown = sorted(set(modules) - set(CORE))
    if unknown:
        print(f"unknown modules {unknown}; the core modules are {', '.join(CORE)}")
        return 2
    equivalent, scores = equivalent_mutants(), {}
    for module in modules or CORE:
        work = ROOT / "mutants" / module
        this_step = "--one" if not work.exists() else step
        if this_step == "--one":
            shutil.rmtree(work, ignore_errors=True)  # mutmut keeps old results and test maps: start clean
            work.mkdir(parents=True)
            for name in ("utils", "tests", "pyproject.toml"):
                (work / name).symlink_to(ROOT / name)
        print(f"== mutating utils/{module}.py against {' '.join(TESTS[module] + COMMON_TESTS)}", flush=True)
        # One thread per test run: mutmut forks a child per mutant, and a child of a process whose OpenMP pool
        # has started can hang in its first parallel operation (which mutmut would count as a timeout).
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), this_step, module], cwd=work, env=env)
        if done.returncode or not (work / "result.json").exists():
            print(f"mutmut failed on {module} (exit {done.returncode})")
            scores[module] = None
            continue
        scores[module] = report(module, json.loads((work / "result.json").read_text()), equivalent)
    print("\n== mutation scores (killed / (killed + survived), equivalent mutants excluded)")
    for module, score in scores.items():
        print(f"   {module:10s} {'failed' if score is None else f'{score:.3f}'}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] in (["--one"], ["--collect"], ["--retest-one"]):  # inside mutants/<module>/
        run_one(sys.argv[2], {"--one": "run", "--collect": "collect", "--retest-one": "retest"}[sys.argv[1]])
    elif sys.argv[1:2] == ["--report"]:  # the last run's results again, without running the mutants
        sys.exit(main(sys.argv[2:], "--collect"))
    elif sys.argv[1:2] == ["--retest"]:  # the last run's survivors again, against the tests as they are now
        sys.exit(main(sys.argv[2:], "--retest-one"))
    else:
        sys.exit(main(sys.argv[1:]))
