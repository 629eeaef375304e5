"""From rules files on disk to compiled rules, or to every problem with its file:line:col.

The whole set is read, then checked as a unit: one mistake anywhere means the set does not load
(the caller keeps the previous one), and every mistake is reported at once, not the first only.

    rules/
      shop.yaml          rules: and tests:
      lists/vip.txt      one entry a line, # comments; used as `sender: {in: vip}`
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from botengine import confined, store_lists
from botengine.actions import ActionSpec
from botengine.errors import ExpressionError, FileRefusedError
from botengine.expressions import FUNCTIONS, compile_expression, fields_read, unknown_functions
from botengine.expressions import static_problems as expression_problems
from botengine.quiet import QuietWindow, quiet_problem
from botengine.retry import RetryPolicy
from botengine.rules import reachability
from botengine.rules.action_checks import LIMITS_HINT, ActionChecker, Names, strings_in
from botengine.rules.branches import remember
from botengine.rules.guard import file_warnings
from botengine.rules.list_reads import ListReadError, template_list_reads, unread_lists
from botengine.rules.model import RuleModel, RulesFileModel, TestModel
from botengine.rules.problems import Problem, did_you_mean
from botengine.rules.schedule import Timetable, compile_schedule, own_ticks
from botengine.rules.state_reads import StateReadError, StateReads, reads_subscribed, strings_reads
from botengine.rules.test_steps import Step, event_path, expected, steps_of
from botengine.rules.triggers import TRIGGERS, Check, CompileContext, TriggerError, not_from_me, type_matcher
from botengine.rules.triggers.handover import quiet_during_handovers
from botengine.rules.triggers.people import ListReads, lists_named
from botengine.rules.variables import FIELDS, VARIABLES
from botengine.rules.where import RulesFile, Where
from botengine.rules.yamlfile import MarkedDict, YamlSyntaxError, load_yaml
from botengine.textlists import TextList, parse_list, read_list
from botengine.ticks import TICK_EVENT


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to evaluate: checks compiled, actions built. `order` is its place in the set."""

    name: str
    order: int
    location: str
    on: tuple[str, ...]
    checks: tuple[Check, ...]
    actions: tuple[ActionSpec, ...]
    cooldown: float | None
    stop: bool
    retry: RetryPolicy | None
    enabled: bool
    description: str = ""
    state_reads: StateReads = frozenset()  # the state variables its actions' templates read
    reads_subscribed: bool = False  # its actions' templates read {{ subscribed }} (a store read)
    list_reads: ListReads = ()  # the lists its actions' templates read as lists.NAME
    timetable: Timetable | None = None  # when it runs, for a scheduled rule (`on: schedule`)
    debounce: QuietWindow | None = None  # its own quiet window (`debounce:`; None: the engine's)

    def matches_type(self, event_type: str) -> bool:
        return bool(_type_matcher(self.on)(event_type))


@cache
def _type_matcher(patterns: tuple[str, ...]) -> Any:
    return type_matcher(list(patterns))


@dataclass(frozen=True)
class InlineTest:
    """A `tests:` entry of a rules file."""

    name: str
    location: str
    event: Mapping[str, Any] | None
    event_file: Path | None
    now: datetime | None
    state: Mapping[str, Any]
    expect: tuple[tuple[str, Any], ...]  # (action kind, params as written, shorthand expanded)
    tick: str | None = None  # a scheduled rule: its run at `now` is the event
    steps: tuple[Step, ...] = ()  # a conversation: events and time passing, each with its expect


@dataclass
class Loaded:
    """What a set of paths held: rules, tests, and the problems found (errors and warnings)."""

    rules: list[CompiledRule] = field(default_factory=list)
    tests: list[InlineTest] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    version: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


# --- finding files -----------------------------------------------------------------------------


def rule_files(paths: Iterable[Path]) -> tuple[list[Path], list[Path], list[Problem]]:
    """The rules files and list files under `paths` (directories or single files), sorted."""
    files: list[Path] = []
    list_dirs: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()))
            list_dirs.append(path / "lists")
        elif path.is_file():
            files.append(path)
            list_dirs.append(path.parent / "lists")
        else:
            problems.append(Problem(str(path), 1, 1, "no such file or directory"))
    list_files = sorted({p for d in dict.fromkeys(list_dirs) if d.is_dir() for p in d.glob("*.txt")})
    return files, list_files, problems


# --- the loader --------------------------------------------------------------------------------


def load(
    paths: Sequence[Path | str],
    env: Mapping[str, str] | None = None,
    *,
    unsaved: Mapping[Path, str] | None = None,
) -> Loaded:
    """Read and check every rules file under `paths`; never raises for problems in the files.

    `env` is where `secrets.NAME` will be read (default: the process environment). `unsaved`
    holds rules files' text to check in place of what is on disk (or as new files): the
    dashboard's editor checks a file as it is typed, beside the others as saved.
    """
    result = Loaded()
    files, list_files, problems = rule_files(Path(p) for p in paths)
    texts = {path.resolve(): text for path, text in (unsaved or {}).items()}
    known = {path.resolve() for path in files}
    new = [path for path in (unsaved or {}) if path.resolve() not in known]
    if new:  # in name order among the files of its folder, as if it were saved
        folders = list(dict.fromkeys(path.parent for path in [*files, *new]))
        files = sorted([*files, *new], key=lambda path: (folders.index(path.parent), path.name))
    result.problems.extend(problems)
    digest = hashlib.sha256()
    lists: dict[str, TextList] = {}
    for path in list_files:
        if (raw := _read_inside(path, path.parent.parent, result)) is not None:
            digest.update(str(path).encode() + b"\0" + raw)
            lists[path.stem] = parse_list(raw.decode("utf-8", errors="replace"), f"lists/{path.name}")
    seen: dict[str, str] = {}
    read: list[tuple[Path, str]] = []
    for path in files:
        typed = texts.get(path.resolve())
        raw = typed.encode() if typed is not None else _read_inside(path, path.parent, result)
        if raw is not None:
            digest.update(str(path).encode() + b"\0" + raw)
            read.append((path, raw.decode("utf-8", errors="replace")))
    stored, reads = _stored_lists(text for _, text in read), set[str]()
    for path, text in read:
        result.files.append(path)
        _FileLoader(path, text, lists, seen, result, os.environ if env is None else env, stored, reads).run()
    result.problems += unread_lists(result.rules, stored - reads - set(lists), reads | set(lists))
    result.version = digest.hexdigest()[:12]
    result.rules = quiet_during_handovers(result.rules)  # while a chat is with a person
    return result


def _stored_lists(texts: Iterable[str]) -> frozenset[str]:
    """The lists rules keep in the store (`add_to:` / `remove_from:` anywhere in the set), known
    before any trigger reads them; only files that name one are parsed for it (twice)."""
    roots = []
    for text in texts:
        if any(word in text for word in store_lists.ACTIONS):
            try:
                roots.append(load_yaml(text)[0])
            except YamlSyntaxError:
                continue  # reported when the file is loaded
    return store_lists.written_names(roots)


def _read_inside(path: Path, folder: Path, out: Loaded) -> bytes | None:
    """The file's bytes, or None and a problem naming it (never quoting it) when it is refused."""
    try:
        return confined.read(folder, path.relative_to(folder))
    except FileRefusedError as exc:
        hint = "keep rules and list files inside the rules folder, as plain text files"
        out.problems.append(Problem(str(path), 1, 1, str(exc), hint))
        return None


class _FileLoader:
    """Checks and compiles one file, appending to the shared result."""

    def __init__(
        self,
        path: Path,
        text: str,
        lists: Mapping[str, TextList],
        seen: dict[str, str],
        out: Loaded,
        env: Mapping[str, str],
        stored: frozenset[str] = frozenset(),
        reads: set[str] | None = None,
    ) -> None:
        self.path, self.text, self.lists, self.seen, self.out = path, text, lists, seen, out
        self.stored, self.reads = stored, set() if reads is None else reads
        self.file = RulesFile(path, out.problems)
        self.checker = ActionChecker(env, self.condition)

    # -- the file -------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self.file.root, duplicates = load_yaml(self.text)
        except YamlSyntaxError as exc:
            self.file.problem(exc.mark, exc.message, exc.hint)
            return
        for mark, name, first in duplicates:
            self.file.problem(
                mark,
                f"{name!r} appears twice in the same place (first on line {first[0]})",
                "keep one of them: YAML would silently use the later one",
            )
        for mark, message, hint in file_warnings(self.text, self.file.root):
            self.file.problem(mark, message, hint, warning=True)
        root, top = self.file.root, self.file.top
        if root is None:
            return
        if not isinstance(root, dict):
            top.report("a rules file is a mapping with rules: (and tests:)", "start the file with rules:")
            return
        try:
            RulesFileModel.model_validate(root)
        except ValidationError as exc:
            top.report_validation(exc, RulesFileModel.model_fields)
            return
        for index, rule in enumerate(root.get("rules") or []):
            self.rule(index, rule)
        for index, test in enumerate(root.get("tests") or []):
            self.inline_test(index, test)

    # -- rules ----------------------------------------------------------------------------------

    def rule(self, index: int, raw: Any) -> None:
        if not isinstance(raw, dict):
            self.file.top.child("rules", index).report("a rule is a mapping with name:, if: and do:")
            return
        fields = [f.alias or name for name, f in RuleModel.model_fields.items()]
        name_for_messages = raw.get("name") if isinstance(raw.get("name"), str) else f"#{index + 1}"
        rule = Where(self.file, ("rules", index), f"rule {name_for_messages!r}: ")
        try:
            model = RuleModel.model_validate(raw)
        except ValidationError as exc:
            rule.report_validation(exc, fields)
            return
        location = rule.location
        if model.name in self.seen:
            rule.report(
                "the name is already used",
                f"first at {self.seen[model.name]}; names must be unique across all files",
                at=("name",),
            )
        else:
            self.seen[model.name] = location
        errors_before = len(self.out.errors)
        on = tuple(model.on) if isinstance(model.on, list) else (model.on,)
        on, timetable = self.schedule(rule, model, on)
        checks, groups = self.triggers(rule.child("if"), model.if_)
        if timetable is not None:
            checks = (own_ticks(model.name), *checks)
        # a regex group or a result named like a variable hides it
        names = Names(set(VARIABLES) | groups, set(groups))
        actions = self.checker.actions(rule.child("do"), model.do, names)
        state_reads = self.state_reads(rule, actions)
        list_reads = self.list_reads(rule, actions)
        if len(self.out.errors) > errors_before:
            return
        for finding in reachability.findings(on, model.if_, model.do):
            rule.report(finding.message, finding.hint, at=finding.path, key=finding.key, warning=True)
        if (
            model.debounce is not None
            and (problem := quiet_problem(model.debounce, on, _type_matcher(on))) is not None
        ):
            rule.report(problem, "remove debounce:, or add on: message", at=("debounce",), warning=True)
        self.out.rules.append(
            CompiledRule(
                name=model.name,
                order=len(self.out.rules),
                location=location,
                on=on,
                checks=checks,
                actions=tuple(actions),
                cooldown=model.cooldown,
                stop=model.stop,
                retry=model.retry,
                enabled=model.enabled,
                description=model.description,
                state_reads=state_reads,
                reads_subscribed=reads_subscribed(t for spec in actions for _, t in strings_in(spec.params)),
                list_reads=list_reads,
                timetable=timetable,
                debounce=model.debounce,
            )
        )

    def state_reads(self, rule: Where, actions: list[ActionSpec]) -> StateReads:
        """The state variables the rule's templates read (each read once when the rule fires)."""
        try:
            return strings_reads(text for spec in actions for _, text in strings_in(spec.params))
        except StateReadError as exc:
            rule.report(f"{exc}", "e.g. {{ state.order }}", at=("do",))
            return frozenset()

    def list_reads(self, rule: Where, actions: list[ActionSpec]) -> ListReads:
        """The lists the rule's templates read as `lists.NAME` (the sender looked up when it fires)."""
        ctx = CompileContext(self.lists, stored=self.stored, read=self.reads)
        try:
            reads = lists_named(template_list_reads(t for s in actions for _, t in strings_in(s.params)), ctx)
        except ListReadError as exc:
            rule.report(f"{exc}", "e.g. {% if lists.vip %}", at=("do",))
            return ()
        except TriggerError as exc:
            rule.report(f"lists: {exc.message}", exc.hint, at=("do",))
            return ()
        for warning in ctx.warnings:
            rule.report(f"lists: {warning.message}", warning.hint, at=("do",), warning=True)
        return reads

    def schedule(
        self, rule: Where, model: RuleModel, on: tuple[str, ...]
    ) -> tuple[tuple[str, ...], Timetable | None]:
        """(`on`, timetable) of a rule: a `schedule:` makes it a scheduled rule (`on: schedule`)."""
        if model.schedule is None:
            if TICK_EVENT in on:
                rule.report(
                    "on: schedule needs schedule: to say when",
                    'e.g. schedule: {at: "09:00", days: mon-fri, session: shop}',
                    at=("on",),
                )
            return on, None
        if "on" in model.model_fields_set and on != (TICK_EVENT,):
            rule.report("a rule with schedule: runs on: schedule only", at=("on",))
        try:
            return (TICK_EVENT,), compile_schedule(model.schedule)
        except TriggerError as exc:
            rule.report(f"schedule: {exc.message}", exc.hint, at=("schedule",))
            return (TICK_EVENT,), None

    def condition(self, where: Where, written: Mapping[str, Any], known: set[str]) -> set[str] | None:
        """A branch's condition (rules/branches.py): compiled and kept, or its mistakes reported.

        `known`: the names the rule gave before it (results), which its `expr:` may read."""
        errors_before = len(self.out.errors)
        checks, groups = self.triggers(where, written, own_messages=False, known=known)
        if len(self.out.errors) > errors_before:
            return None
        remember(written, checks)
        return groups

    def triggers(
        self,
        at: Where,
        written: Mapping[str, Any],
        *,
        own_messages: bool = True,
        known: set[str] | None = None,
    ) -> tuple[tuple[Check, ...], set[str]]:
        """The checks of the triggers written at `at` (a rule's `if:`), with their regex groups.

        `own_messages`: a rule ignores the bot's own messages unless it says `from_me:`; a branch
        inside a rule that fired does not add that again."""
        ctx = CompileContext(self.lists, stored=self.stored, read=self.reads)
        sync: list[Check] = []
        deferred: list[Check] = []
        groups: set[str] = set()
        for name, value in written.items():
            where = at.child(name)
            kind = TRIGGERS.get(name)
            if kind is None or name == "on":
                hint = (
                    "on: belongs beside if:, not inside it"
                    if name == "on"
                    else did_you_mean(str(name), TRIGGERS)
                )
                where.report(f"unknown trigger {name!r}", hint, key=True)
                continue
            try:
                value = _adapter(name).validate_python(value)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                where.report(f"{name}: {first['msg'].lower()}", f"for example {kind.example}")
                continue
            try:
                check = kind.compile(value, ctx)
            except TriggerError as exc:
                where.report(f"{name}: {exc.message}", exc.hint)
                continue
            for warning in ctx.warnings:
                where.report(f"{name}: {warning.message}", warning.hint, warning=True)
            ctx.warnings.clear()
            if check.regex is not None:
                groups |= check.regex.group_names()
            (deferred if check.run_async else sync).append(check)
        if "from_me" not in written and written.get("human_reply") is not True and own_messages:
            sync.insert(0, Check("from_me", not_from_me))
        if "expr" in written and isinstance(written["expr"], str):
            self.expression_names(at.child("expr"), written["expr"], groups | (known or set()))
        return tuple(sync + deferred), groups

    def expression_names(self, where: Where, source: str, groups: set[str]) -> None:
        known = set(VARIABLES) | groups
        try:
            expression = compile_expression(source)
        except ExpressionError:
            return  # reported by the trigger already
        for name in sorted(expression.names - known):
            where.report(f"expr: unknown variable {name!r}", did_you_mean(name, known))
        for name in sorted(unknown_functions(expression)):
            where.report(f"expr: unknown function {name!r}", did_you_mean(name, FUNCTIONS))
        for message, hint in reachability.unknown_fields(fields_read(expression), FIELDS, groups):
            where.report(f"expr: {message}", hint)
        for problem in expression_problems(expression):
            where.report(f"expr: it cannot run within its limits: {problem}", LIMITS_HINT, warning=True)

    # -- inline tests ---------------------------------------------------------------------------

    def inline_test(self, index: int, raw: Any) -> None:
        top = self.file.top.child("tests", index)
        try:
            model = TestModel.model_validate(raw)
        except ValidationError as exc:
            top.prefixed(f"test #{index + 1}: ").report_validation(exc, TestModel.model_fields)
            return
        test = top.prefixed(f"test {model.name!r}: ")
        given = [x for x in (model.event, model.event_file, model.tick, model.steps) if x is not None]
        if len(given) != 1:
            test.report("give one of event:, event_file:, tick: or steps:")
            return
        if model.tick is not None and model.now is None:
            test.report(
                "tick: needs now: (the moment of the run)",
                'e.g. now: "2026-12-07T09:00:00+00:00"',
                at=("tick",),
            )
            return
        if (model.steps is None) == (model.expect is None):
            test.report(
                "expect: goes inside each step" if model.steps else "expect: is missing",
                "the actions expected, e.g. expect: [{reply: Hello}]; [] for none",
            )
            return
        folder = self.path.parent
        event_file = event_path(test, folder, model.event_file) if model.event_file is not None else None
        expect = expected(test, model.expect or [])
        steps = steps_of(test, model.steps, folder) if model.steps is not None else ()
        if (model.event_file is not None and event_file is None) or expect is None or steps is None:
            return
        self.out.tests.append(
            InlineTest(
                name=model.name,
                location=test.location,
                event=model.event,
                event_file=event_file,
                now=model.now,
                state=model.state,
                expect=expect,
                tick=model.tick,
                steps=steps,
            )
        )


@cache
def _adapter(trigger: str) -> TypeAdapter[Any]:
    return TypeAdapter(TRIGGERS[trigger].type_)


__all__ = ["CompiledRule", "InlineTest", "Loaded", "MarkedDict", "load", "read_list", "rule_files"]
