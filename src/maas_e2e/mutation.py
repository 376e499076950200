"""Mutation testing of the embedded stack: does the e2e suite catch defects nobody planted?

The fault matrix proves the suite catches the catalogue's defects, which were written knowing the
tests. Mutation testing asks the same of defects nobody chose: cosmic-ray's single-point mutants
of `src/maas_local` (a comparison flipped, a number off by one, a condition negated, an exception
handler that no longer matches...). Each mutant is judged by the e2e suite against a stack started
from the mutated code: a run that fails (or hangs past the per-mutant timeout) kills it.

Mutants are applied to a temporary copy of the project, never to the working tree (others run
tests from it meanwhile). The judge runs in the copy with the copy's `src` first on PYTHONPATH, so
it and the `maas-local` process it starts import the copy, not the editable install; a canary
(the copy's `maas_local` made to exit on import) must turn the judge red before any mutant runs.

A seeded sample keeps a run within CI's budget: a mutant is drawn when the hash of the seed and
its id is among the smallest, so the sample depends only on the seed and the source, and an edit
elsewhere changes it by at most the mutants it adds or removes. `--sample 0` runs every mutant.

Every survivor must be triaged in `docs/mutation.md` by its id (a hash of the file, the original
line's text and the mutation, so it survives edits elsewhere): equivalent (no request to the stack
tells it apart), outside the contract (one does, but no promise covers it) or a gap (a promise
does and no check catches it: the doc says which check would). The score is killed /
non-equivalent: every survivor but the equivalent ones counts against it. The command fails when
a survivor is not triaged or the score is below `--min-score`.

Like the fault matrix, this meets the stack only as text to mutate and a process to start; it
never imports it. It needs the dev extra (cosmic-ray).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import fnmatch
import hashlib
import itertools
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cosmic_ray.commands import init as cosmic_ray_init
from cosmic_ray.modules import find_modules
from cosmic_ray.mutating import mutate_and_test, mutate_code
from cosmic_ray.plugins import get_operator
from cosmic_ray.testing import run_tests
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import MutationSpec, TestOutcome, WorkerOutcome

PACKAGE = Path("src/maas_local")
COPIED = ("src", "tests", "manifests", "conftest.py", "pytest.ini", "pyproject.toml")
"""What the judge needs from the project; everything else (.git, .venv, reports) stays behind."""

LEFT_OUT: dict[str, str] = {
    "src/maas_local/cluster/*": "the real control plane (`maas-local cluster`): the local target "
    "never runs it; CI judges it with the cluster target",
    "src/maas_local/faults.py": "the fault catalogue itself: the fault matrix proves it",
    "src/maas_local/simulator/lengths.py": "what the stand-in model says (how long a reply is), "
    "which no MaaS promise reads: the simulator's unit tests and the fidelity harness judge it",
    "src/maas_local/simulator/toolcalls.py": "what the stand-in model says (the arguments of its "
    "tool calls), which no MaaS promise reads: the simulator's unit tests and the fidelity "
    "harness judge it",
    "src/maas_local/simulator/toolschema.py": "the stand-in model's wording of an invalid tool "
    "schema, which no MaaS promise reads: the simulator's unit tests and the fidelity harness "
    "judge it",
}
"""Modules never mutated (glob relative to the project), and why."""

FAULT_SETS = frozenset({"faults", "_faults"})
"""Names of the active-fault set in `"<name>" in config.faults` / `self._faults` checks."""

JUDGE = [
    "-m", "pytest", "tests/e2e", "-m", "e2e and not slow", "-x", "-q",
    "-p", "no:cacheprovider", "--maas-target=local",
]  # fmt: skip
"""The judge: the e2e suite (not the slow tests) on the embedded stack, stopping at a failure."""

CANARY = "mutation canary: the copy's maas_local is the code under test"
VERDICTS = ("equivalent", "outside the contract", "gap")
DEFAULT_SAMPLE = 70
DEFAULT_SEED = 1
DEFAULT_TRIAGE = Path("docs/mutation.md")


@dataclass(frozen=True)
class Mutant:
    """One single-point mutation of a module, as cosmic-ray enumerates it."""

    path: str
    """Module path relative to the project, e.g. `src/maas_local/gateway/ratelimit.py`."""
    line: int
    column: int
    operator: str
    """cosmic-ray's operator; it names the replacement: `core/ReplaceComparisonOperator_Lt_LtE`."""
    occurrence: int
    """cosmic-ray's index of this mutation among the operator's mutations of the module."""
    original: str
    """The text of the mutated line, stripped."""
    ordinal: int = 0
    """Index among the module's mutants with the same line text and operator (repeated lines)."""

    @property
    def key(self) -> str:
        """File, original line's text and mutation: unchanged by edits to other lines."""
        return "\0".join((self.path, self.original, self.operator, str(self.ordinal)))

    @property
    def id(self) -> str:
        return "m-" + hashlib.sha256(self.key.encode()).hexdigest()[:10]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    killed: bool
    seconds: float
    mutated: str
    """The mutated line(s), stripped; empty when the mutation removed the line."""
    timed_out: bool = False


@dataclass(frozen=True)
class Score:
    """A run's tally, survivors by their triage; an untriaged survivor counts as a gap."""

    killed: int
    equivalent: int = 0
    outside: int = 0
    gaps: int = 0
    untriaged: tuple[Mutant, ...] = ()

    @property
    def non_equivalent(self) -> int:
        """Mutants some request could tell from the original: all but the equivalent ones."""
        return self.killed + self.outside + self.gaps + len(self.untriaged)

    @property
    def ratio(self) -> float:
        """What the gate checks: killed / non-equivalent. A survivor outside the contract
        counts against it like a gap: it is a difference the suite lets through."""
        return self.killed / self.non_equivalent if self.non_equivalent else 1.0


# --- which mutants ------------------------------------------------------------------------------

Span = tuple[tuple[int, int], tuple[int, int]]
"""((line, column), (end line, end column)), columns in characters as cosmic-ray counts them."""


def enumerate_mutants(root: Path, session: Path) -> dict[Mutant, MutationSpec]:
    """Every mutant cosmic-ray makes of the package under `root` (a session db at `session`)."""
    modules = [
        path
        for path in find_modules([root / PACKAGE])
        if not any(fnmatch.fnmatch(path.relative_to(root).as_posix(), g) for g in LEFT_OUT)
    ]
    with use_db(str(session), WorkDB.Mode.create) as db:
        cosmic_ray_init(modules, db, {})
        specs = [item.mutations[0] for item in db.work_items]
    specs.sort(key=lambda s: (str(s.module_path), s.operator_name, s.occurrence))
    texts = {p: p.read_text().splitlines() for p in {Path(s.module_path) for s in specs}}
    seen: Counter[tuple[str, str, str]] = Counter()
    mutants = {}
    for spec in specs:
        line, column = spec.start_pos
        text = texts[Path(spec.module_path)][line - 1].strip()
        path = Path(spec.module_path).relative_to(root).as_posix()
        same = (path, text, spec.operator_name)
        mutant = Mutant(path, line, column, spec.operator_name, spec.occurrence, text, seen[same])
        seen[same] += 1
        mutants[mutant] = spec
    return mutants


def left_out_spans(source: str) -> list[Span]:
    """Code whose mutants prove nothing here: annotations and fault-catalogue branches.

    Annotations are never evaluated under `from __future__ import annotations`, so their mutants
    are equivalent. A fault check (`"<name>" in config.faults`), the branch it opens and what only
    it lets run belong to the fault catalogue, which the fault matrix proves.
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    future = any(
        isinstance(n, ast.ImportFrom)
        and n.module == "__future__"
        and any(a.name == "annotations" for a in n.names)
        for n in tree.body
    )
    nodes: list[ast.AST] = []
    for node in ast.walk(tree):
        if future:
            nodes += _annotations(node)
        if _fault_check(node) is not None:
            nodes.append(node)
        if isinstance(node, ast.If | ast.IfExp):
            body, orelse = _branches(node)
            if _only_under_fault(node.test, True):
                nodes += body
            if _only_under_fault(node.test, False):
                nodes += orelse
        if isinstance(node, ast.BoolOp):
            # `"x" in faults and y` evaluates y only under the fault (so does `or` after `not in`).
            shorting = isinstance(node.op, ast.And)
            for i, value in enumerate(node.values[:-1]):
                if _only_under_fault(value, shorting):
                    nodes += node.values[i + 1 :]
                    break
    return [_span(lines, n) for n in nodes]


def judged(mutants: dict[Mutant, MutationSpec], root: Path) -> list[Mutant]:
    """The mutants outside annotations and fault-catalogue branches."""
    spans = {p: left_out_spans((root / p).read_text()) for p in {m.path for m in mutants}}
    return [
        m
        for m in mutants
        if not any(start <= (m.line, m.column) < end for start, end in spans[m.path])
    ]


def _annotations(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.AnnAssign):
        return [node.annotation]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        a = node.args
        args = [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
        found: list[ast.AST] = [x.annotation for x in args if x is not None and x.annotation]
        return found + ([node.returns] if node.returns is not None else [])
    return []


def _fault_check(node: ast.AST) -> bool | None:
    """True for `"<name>" in <...>.faults`, False for `not in`, None for anything else."""
    if not (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.left, ast.Constant)
        and isinstance(node.left.value, str)
    ):
        return None
    target = node.comparators[0]
    name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
    if name not in FAULT_SETS:
        return None
    return {ast.In: True, ast.NotIn: False}.get(type(node.ops[0]))


def _only_under_fault(test: ast.expr, outcome: bool) -> bool:
    """Whether `test` can come out as `outcome` only while a fault of the catalogue is active."""
    check = _fault_check(test)
    if check is not None:
        return check == outcome
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _only_under_fault(test.operand, not outcome)
    if isinstance(test, ast.BoolOp):
        parts = [_only_under_fault(v, outcome) for v in test.values]
        # `and` is true (`or` false) only when every operand is: one fault-only operand suffices.
        return any(parts) if isinstance(test.op, ast.And) == outcome else all(parts)
    return False


def _branches(node: ast.If | ast.IfExp) -> tuple[list[ast.AST], list[ast.AST]]:
    if isinstance(node, ast.IfExp):
        return [node.body], [node.orelse]
    return list(node.body), list(node.orelse)


def _span(lines: list[str], node: ast.AST) -> Span:
    """The node's extent, ast's UTF-8 byte columns turned into character columns."""

    def chars(line: int, byte_col: int) -> int:
        return len(lines[line - 1].encode()[:byte_col].decode(errors="ignore"))

    start, end = node.lineno, node.end_lineno or node.lineno
    return (
        (start, chars(start, node.col_offset)),
        (end, chars(end, node.end_col_offset or 0)),
    )


def sample(
    mutants: list[Mutant], size: int, seed: int, valid: Callable[[Mutant], bool] = bool
) -> list[Mutant]:
    """`size` valid mutants drawn by the hash of seed and id (every one for 0), in file order.

    Mutants are taken in the order of their hash until `size` pass `valid`; one that fails is
    replaced by the next, so the sample keeps its size.
    """
    if 0 < size < len(mutants):

        def rank(m: Mutant) -> str:
            return hashlib.sha256(f"{seed}\0{m.id}".encode()).hexdigest()

        ranked = (m for m in sorted(mutants, key=rank) if valid(m))
        mutants = list(itertools.islice(ranked, size))
    else:
        mutants = [m for m in mutants if valid(m)]
    return sorted(mutants, key=lambda m: (m.path, m.line, m.column, m.operator, m.occurrence))


# --- triage and score ---------------------------------------------------------------------------

_CELL = re.compile(r"(?<!\\)\|")
_ID = re.compile(r"`?(m-[0-9a-f]{10})`?")


def read_triage(text: str) -> dict[str, str]:
    """Mutant id -> verdict, from the triage table's rows (`| id | verdict | ... |`)."""
    triage = {}
    for line in text.splitlines():
        cells = [c.strip() for c in _CELL.split(line.strip())]
        if len(cells) < 4 or cells[0] or (match := _ID.fullmatch(cells[1])) is None:
            continue
        if cells[2] not in VERDICTS:
            raise ValueError(f"{match[1]}: verdict {cells[2]!r} is not one of {VERDICTS}")
        triage[match[1]] = cells[2]
    return triage


def score(outcomes: list[Outcome], triage: dict[str, str]) -> Score:
    """The tally of a run: only the equivalent survivors leave the score."""
    survivors = [o.mutant for o in outcomes if not o.killed]
    verdicts = Counter(triage[m.id] for m in survivors if m.id in triage)
    return Score(
        killed=len(outcomes) - len(survivors),
        equivalent=verdicts["equivalent"],
        outside=verdicts["outside the contract"],
        gaps=verdicts["gap"],
        untriaged=tuple(m for m in survivors if m.id not in triage),
    )


def triage_row(outcome: Outcome, verdict: str, why: str) -> str:
    """A row of the triage table for a survivor, as docs/mutation.md has them."""
    m = outcome.mutant
    mutated = _code(outcome.mutated) if outcome.mutated else "(line removed)"
    cells = [f"`{m.id}`", verdict, f"`{m.where}`", _code(m.original), mutated, why]
    return "| " + " | ".join(cells) + " |"


def report(outcomes: list[Outcome], triage: dict[str, str], min_score: float) -> str:
    """The score and every survivor (where, original and mutated code, verdict)."""
    result = score(outcomes, triage)
    survivors = [o for o in outcomes if not o.killed]
    lines = [
        f"mutation score: {result.ratio:.1%} = {result.killed} killed / "
        f"{result.non_equivalent} non-equivalent (minimum {min_score:.0%})",
        f"{len(outcomes)} mutants: {result.killed} killed, {len(survivors)} survived "
        f"({result.equivalent} equivalent, {result.outside} outside the contract, "
        f"{result.gaps} gaps, {len(result.untriaged)} untriaged)",
    ]
    if survivors:
        # The triage table's columns, with the operator where the doc gives the reason.
        header = "| mutant | verdict | where | original | mutated | operator |"
        lines += ["", header, "| --- " * 6 + "|"]
        lines += [
            triage_row(o, triage.get(o.mutant.id, "UNTRIAGED"), o.mutant.operator)
            for o in survivors
        ]
    return "\n".join(lines)


def _code(text: str) -> str:
    """Inline code for a table cell: backticks that survive a backtick, pipes escaped."""
    text = text.replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


# --- running ------------------------------------------------------------------------------------


def copy_project(source: Path, target: Path) -> None:
    """What the judge needs, without caches: the copy's modules are compiled from its sources."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, target / name, ignore=ignore)
        elif path.exists():
            shutil.copy2(path, target / name)


@contextlib.contextmanager
def judging_in(copy: Path) -> Iterator[None]:
    """Judge from the copy: its `src` first on the path, no MAAS_* settings picking a target."""
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith("MAAS_")]:
        del os.environ[name]
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(copy / "src"), *filter(None, [saved.get("PYTHONPATH")])]
    )
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        with contextlib.chdir(copy):
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def check_judge(copy: Path, command: str) -> tuple[float, str | None]:
    """Time the judge on the unmutated copy, then prove that breaking the copy turns it red.

    Returns the healthy run's seconds and what is wrong, if anything.
    """
    started = time.monotonic()
    outcome, output = run_tests(command, timeout=600)
    seconds = time.monotonic() - started
    if outcome != TestOutcome.SURVIVED:
        return seconds, f"the judge is red on the unmutated copy:\n{output[-4000:]}"
    init = copy / PACKAGE / "__init__.py"
    healthy = init.read_text()
    init.write_text(f"{healthy}\nraise SystemExit({CANARY!r})\n")
    try:
        outcome, output = run_tests(command, timeout=600)
    finally:
        init.write_text(healthy)
    if outcome != TestOutcome.KILLED or CANARY not in output:
        return seconds, (
            "the judge does not run the copy's maas_local: a copy that exits on import did not "
            f"fail it with its message:\n{output[-4000:]}"
        )
    return seconds, None


def run_mutant(mutant: Mutant, spec: MutationSpec, command: str, timeout: float) -> Outcome:
    """Apply one mutation to the copy, judge it, put the module back."""
    started = time.monotonic()
    result = mutate_and_test([spec], command, timeout)
    seconds = time.monotonic() - started
    if result.worker_outcome != WorkerOutcome.NORMAL:
        raise RuntimeError(f"{mutant.where} {mutant.operator}: {result.output}")
    return Outcome(
        mutant,
        killed=result.is_killed,
        seconds=seconds,
        mutated=mutated_lines(spec),
        timed_out=result.output == "timeout",
    )


def mutated_source(spec: MutationSpec) -> tuple[str, str]:
    """The module's source and the mutated source."""
    original = Path(spec.module_path).read_text()
    operator = get_operator(spec.operator_name)(**spec.operator_args)
    return original, mutate_code(original, operator, spec.occurrence) or original


def is_valid(spec: MutationSpec) -> bool:
    """Whether cosmic-ray can make the mutant and it is Python at all.

    Some of its mutations are not: `{**a}` becomes `{^a}`, a dotted name in a tuple of exceptions
    makes the exception replacer fail. Such a mutant would be killed by a SyntaxError, or crash.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # `x is "User"`: Python, if dubious
            compile(mutated_source(spec)[1], str(spec.module_path), "exec")
    except Exception:  # a SyntaxError, or an operator that cannot mutate this node
        return False
    return True


def mutated_lines(spec: MutationSpec) -> str:
    """The lines the mutation changed, as the mutated module has them."""
    original, mutated = mutated_source(spec)
    diff = difflib.unified_diff(original.splitlines(), mutated.splitlines(), lineterm="", n=0)
    return " / ".join(d[1:].strip() for d in diff if d.startswith("+") and d[:3] != "+++")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="maas-e2e-mutation", description=__doc__)
    parser.add_argument(
        "--sample", type=int, default=DEFAULT_SAMPLE, help="mutants to draw; 0: every mutant"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the sample")
    parser.add_argument("--triage", type=Path, default=DEFAULT_TRIAGE, help="the triage document")
    parser.add_argument(
        "--min-score", type=float, default=0.90, help="killed / non-equivalent (default 0.90)"
    )
    parser.add_argument(
        "--timeout", type=float, help="seconds per mutant (default: 3x the healthy run, >= 30)"
    )
    parser.add_argument(
        "--mutant",
        action="append",
        metavar="ID",
        help="run this mutant (repeatable) instead of a sample: to recheck a row of the triage",
    )
    parser.add_argument("--list", action="store_true", help="print the sample, run nothing")
    parser.add_argument("--markdown", type=Path, help="also write the score and survivors here")
    args, extra = parser.parse_known_args(argv)
    root = Path.cwd()
    if not (root / PACKAGE).is_dir():
        print(f"run from the project's root: there is no {PACKAGE} in {root}", file=sys.stderr)
        return 2
    triage = read_triage(args.triage.read_text()) if args.triage.exists() else {}
    command = shlex.join([sys.executable, *JUDGE, *extra])
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="maas-mutation-") as tmp:
        copy = Path(tmp)
        copy_project(root, copy)
        specs = enumerate_mutants(copy, copy / "session.sqlite")
        candidates = judged(specs, copy)
        if args.mutant:
            chosen = sample([m for m in candidates if m.id in args.mutant], 0, args.seed)
            unknown = set(args.mutant) - {m.id for m in chosen}
            if unknown:
                print(
                    f"no such mutant in this source: {', '.join(sorted(unknown))}", file=sys.stderr
                )
                return 2
        else:
            chosen = sample(candidates, args.sample, args.seed, lambda m: is_valid(specs[m]))
        print(
            f"{len(specs)} mutants of {PACKAGE}, "
            f"{len(candidates)} outside annotations and fault branches; "
            f"{len(chosen)} chosen " + ("by id" if args.mutant else f"(seed {args.seed})"),
            *(f"left out: {glob}: {why}" for glob, why in LEFT_OUT.items()),
            sep="\n",
            flush=True,
        )
        if args.list:
            for m in chosen:
                print(f"{m.id}  {m.where}  {m.operator}  {m.original}")
            return 0
        with judging_in(copy):
            healthy_s, problem = check_judge(copy, command)
            if problem:
                print(problem, file=sys.stderr)
                return 2
            timeout = args.timeout or max(30.0, 3 * healthy_s)
            print(
                f"judge: {command}\nhealthy run {healthy_s:.1f}s, timeout {timeout:.0f}s a mutant"
            )
            outcomes = []
            for i, mutant in enumerate(chosen, 1):
                outcome = run_mutant(mutant, specs[mutant], command, timeout)
                outcomes.append(outcome)
                verdict = "killed" if outcome.killed else "SURVIVED"
                verdict += " (timeout)" if outcome.timed_out else ""
                print(
                    f"[{i}/{len(chosen)}] {verdict:<17} {outcome.seconds:5.1f}s  "
                    f"{mutant.where}  {mutant.operator}",
                    flush=True,
                )
    text = report(outcomes, triage, args.min_score)
    result = score(outcomes, triage)
    minutes = (time.monotonic() - started) / 60
    print(f"\n{text}\n\n{len(outcomes)} mutants in {minutes:.1f} min")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    failed = False
    if result.untriaged:
        print(
            f"{len(result.untriaged)} survivor(s) not triaged in {args.triage}: add a row for each "
            f"(verdict: {', '.join(VERDICTS)})",
            file=sys.stderr,
        )
        failed = True
    if result.ratio < args.min_score:
        print(f"score {result.ratio:.1%} is below {args.min_score:.0%}", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
