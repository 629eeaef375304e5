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
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from botengine import confined, secrets, urls
from botengine.actions import ACTIONS, ActionSpec
from botengine.durations import parse_duration
from botengine.errors import ExpressionError, FileRefusedError, TemplateError
from botengine.expressions import FUNCTIONS, compile_expression, fields_read, unknown_functions
from botengine.expressions import static_problems as expression_problems
from botengine.retry import RetryPolicy
from botengine.rules import reachability
from botengine.rules.guard import file_warnings
from botengine.rules.model import ACTION_OPTIONS, RuleModel, RulesFileModel, TestModel
from botengine.rules.problems import Problem, did_you_mean
from botengine.rules.schedule import Timetable, compile_schedule, own_ticks
from botengine.rules.state_reads import StateReadError, StateReads, strings_reads
from botengine.rules.triggers import TRIGGERS, Check, CompileContext, TriggerError, not_from_me, type_matcher
from botengine.rules.variables import FIELDS, VARIABLES
from botengine.rules.yamlfile import Mark, MarkedDict, YamlSyntaxError, load_yaml, mark_of
from botengine.templating import fields_used as _fields_used
from botengine.templating import is_template
from botengine.templating import names_used as _names_used
from botengine.templating import static_problems as template_problems
from botengine.textlists import TextList, parse_list, read_list
from botengine.ticks import TICK_EVENT

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_URL_HINT = "keep the host in the rule; a token goes in headers: {Authorization: ...}"
_LIMITS_HINT = "every event that reaches it would go to the dead-letter queue (docs/rules.md, Limits)"


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
    timetable: Timetable | None = None  # when it runs, for a scheduled rule (`on: schedule`)

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


def load(paths: Sequence[Path | str], env: Mapping[str, str] | None = None) -> Loaded:
    """Read and check every rules file under `paths`; never raises for problems in the files.

    `env` is where `secrets.NAME` will be read (default: the process environment).
    """
    result = Loaded()
    files, list_files, problems = rule_files(Path(p) for p in paths)
    result.problems.extend(problems)
    digest = hashlib.sha256()
    lists: dict[str, TextList] = {}
    for path in list_files:
        if (raw := _read_inside(path, path.parent.parent, result)) is not None:
            digest.update(str(path).encode() + b"\0" + raw)
            lists[path.stem] = parse_list(raw.decode("utf-8", errors="replace"), f"lists/{path.name}")
    seen: dict[str, str] = {}
    for path in files:
        if (raw := _read_inside(path, path.parent, result)) is None:
            continue
        digest.update(str(path).encode() + b"\0" + raw)
        result.files.append(path)
        text = raw.decode("utf-8", errors="replace")
        _FileLoader(path, text, lists, seen, result, os.environ if env is None else env).run()
    result.version = digest.hexdigest()[:12]
    return result


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
    ) -> None:
        self.path, self.text, self.lists, self.seen, self.out = path, text, lists, seen, out
        self.env = env
        self.root: Any = None
        self.own_names: set[str] = set()

    # -- reporting ------------------------------------------------------------------------------

    def problem(self, mark: Mark, message: str, hint: str = "", *, warning: bool = False) -> None:
        severity: Any = "warning" if warning else "error"
        self.out.problems.append(Problem(str(self.path), mark[0], mark[1], message, hint, severity))

    def at(self, *path: Any, key: bool = False) -> Mark:
        return mark_of(self.root, path, key=key)

    def pydantic_problems(
        self, exc: ValidationError, base: tuple[Any, ...], prefix: str, fields: Iterable[str]
    ) -> None:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            if err["type"] == "extra_forbidden":
                name = str(loc[-1])
                self.problem(
                    self.at(*base, *loc, key=True),
                    f"{prefix}unknown key {name!r}",
                    did_you_mean(name, fields),
                )
            elif err["type"] == "missing":
                self.problem(self.at(*base, *loc[:-1]), f"{prefix}missing {loc[-1]!r}")
            else:
                where = ".".join(str(p) for p in loc)
                self.problem(self.at(*base, *loc), f"{prefix}{where}: {err['msg']}")

    # -- the file -------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self.root, duplicates = load_yaml(self.text)
        except YamlSyntaxError as exc:
            self.problem(exc.mark, exc.message, exc.hint)
            return
        for mark, name, first in duplicates:
            self.problem(
                mark,
                f"{name!r} appears twice in the same place (first on line {first[0]})",
                "keep one of them: YAML would silently use the later one",
            )
        for mark, message, hint in file_warnings(self.text, self.root):
            self.problem(mark, message, hint, warning=True)
        if self.root is None:
            return
        if not isinstance(self.root, dict):
            self.problem(
                self.at(), "a rules file is a mapping with rules: (and tests:)", "start the file with rules:"
            )
            return
        try:
            RulesFileModel.model_validate(self.root)
        except ValidationError as exc:
            self.pydantic_problems(exc, (), "", RulesFileModel.model_fields)
            return
        for index, rule in enumerate(self.root.get("rules") or []):
            self.rule(index, rule)
        for index, test in enumerate(self.root.get("tests") or []):
            self.inline_test(index, test)

    # -- rules ----------------------------------------------------------------------------------

    def rule(self, index: int, raw: Any) -> None:
        base = ("rules", index)
        if not isinstance(raw, dict):
            self.problem(self.at(*base), "a rule is a mapping with name:, if: and do:")
            return
        fields = [f.alias or name for name, f in RuleModel.model_fields.items()]
        name_for_messages = raw.get("name") if isinstance(raw.get("name"), str) else f"#{index + 1}"
        prefix = f"rule {name_for_messages!r}: "
        try:
            model = RuleModel.model_validate(raw)
        except ValidationError as exc:
            self.pydantic_problems(exc, base, prefix, fields)
            return
        location = f"{self.path}:{self.at(*base)[0]}"
        if model.name in self.seen:
            self.problem(
                self.at(*base, "name"),
                f"{prefix}the name is already used",
                f"first at {self.seen[model.name]}; names must be unique across all files",
            )
        else:
            self.seen[model.name] = location
        errors_before = len(self.out.errors)
        on = tuple(model.on) if isinstance(model.on, list) else (model.on,)
        on, timetable = self.schedule(base, prefix, model, on)
        checks, groups = self.triggers(base, prefix, model.if_)
        if timetable is not None:
            checks = (own_ticks(model.name), *checks)
        known = set(VARIABLES) | groups
        self.own_names = set(groups)  # a regex group or a result named like a variable hides it
        actions = self.actions((*base, "do"), prefix, model.do, known, "")
        state_reads = self.state_reads(base, prefix, actions)
        if len(self.out.errors) > errors_before:
            return
        for finding in reachability.findings(on, model.if_, model.do):
            mark = self.at(*base, *finding.path, key=finding.key)
            self.problem(mark, f"{prefix}{finding.message}", finding.hint, warning=True)
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
                timetable=timetable,
            )
        )

    def state_reads(self, base: tuple[Any, ...], prefix: str, actions: list[ActionSpec]) -> StateReads:
        """The state variables the rule's templates read (each read once when the rule fires)."""
        try:
            return strings_reads(text for spec in actions for _, text in _strings(spec.params))
        except StateReadError as exc:
            self.problem(self.at(*base, "do"), f"{prefix}{exc}", "e.g. {{ state.order }}")
            return frozenset()

    def schedule(
        self, base: tuple[Any, ...], prefix: str, model: RuleModel, on: tuple[str, ...]
    ) -> tuple[tuple[str, ...], Timetable | None]:
        """(`on`, timetable) of a rule: a `schedule:` makes it a scheduled rule (`on: schedule`)."""
        if model.schedule is None:
            if TICK_EVENT in on:
                self.problem(
                    self.at(*base, "on"),
                    f"{prefix}on: schedule needs schedule: to say when",
                    'e.g. schedule: {at: "09:00", days: mon-fri, session: shop}',
                )
            return on, None
        if "on" in model.model_fields_set and on != (TICK_EVENT,):
            self.problem(self.at(*base, "on"), f"{prefix}a rule with schedule: runs on: schedule only")
        try:
            return (TICK_EVENT,), compile_schedule(model.schedule)
        except TriggerError as exc:
            self.problem(self.at(*base, "schedule"), f"{prefix}schedule: {exc.message}", exc.hint)
            return (TICK_EVENT,), None

    def triggers(
        self, base: tuple[Any, ...], prefix: str, written: dict[str, Any]
    ) -> tuple[tuple[Check, ...], set[str]]:
        ctx = CompileContext(self.lists)
        sync: list[Check] = []
        deferred: list[Check] = []
        groups: set[str] = set()
        for name, value in written.items():
            where = (*base, "if", name)
            kind = TRIGGERS.get(name)
            if kind is None or name == "on":
                hint = (
                    "on: belongs beside if:, not inside it"
                    if name == "on"
                    else did_you_mean(str(name), TRIGGERS)
                )
                self.problem(self.at(*where, key=True), f"{prefix}unknown trigger {name!r}", hint)
                continue
            try:
                value = _adapter(name).validate_python(value)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                self.problem(
                    self.at(*where), f"{prefix}{name}: {first['msg'].lower()}", f"for example {kind.example}"
                )
                continue
            try:
                check = kind.compile(value, ctx)
            except TriggerError as exc:
                self.problem(self.at(*where), f"{prefix}{name}: {exc.message}", exc.hint)
                continue
            for warning in ctx.warnings:
                self.problem(
                    self.at(*where), f"{prefix}{name}: {warning.message}", warning.hint, warning=True
                )
            ctx.warnings.clear()
            if check.regex is not None:
                groups |= check.regex.group_names()
            (deferred if check.run_async else sync).append(check)
        if "from_me" not in written:
            sync.insert(0, Check("from_me", not_from_me))
        if "expr" in written and isinstance(written["expr"], str):
            self.expression_names(base, prefix, written["expr"], groups)
        return tuple(sync + deferred), groups

    def expression_names(self, base: tuple[Any, ...], prefix: str, source: str, groups: set[str]) -> None:
        known = set(VARIABLES) | groups
        try:
            expression = compile_expression(source)
        except ExpressionError:
            return  # reported by the trigger already
        mark = self.at(*base, "if", "expr")
        for name in sorted(expression.names - known):
            self.problem(mark, f"{prefix}expr: unknown variable {name!r}", did_you_mean(name, known))
        for name in sorted(unknown_functions(expression)):
            self.problem(mark, f"{prefix}expr: unknown function {name!r}", did_you_mean(name, FUNCTIONS))
        for message, hint in reachability.unknown_fields(fields_read(expression), FIELDS, groups):
            self.problem(mark, f"{prefix}expr: {message}", hint)
        for problem in expression_problems(expression):
            self.problem(
                mark, f"{prefix}expr: it cannot run within its limits: {problem}", _LIMITS_HINT, warning=True
            )

    # -- actions --------------------------------------------------------------------------------

    def actions(
        self, base: tuple[Any, ...], prefix: str, items: list[Any], known: set[str], index_prefix: str
    ) -> list[ActionSpec]:
        specs: list[ActionSpec] = []
        for position, item in enumerate(items):
            spec = self.action((*base, position), prefix, item, known, f"{index_prefix}{position}")
            if spec is not None:
                specs.append(spec)
            # Later actions (not earlier ones) may use its result; even when the action itself
            # has a mistake, so that one mistake is reported once, not again in every use.
            if isinstance(item, dict):
                if isinstance(item.get("as"), str):
                    known.add(item["as"])
                    self.own_names.add(item["as"])
                for word in item:
                    if word in ACTIONS and (result_var := ACTIONS[word].result_var):
                        known.add(result_var)
                        self.own_names.add(result_var)
        return specs

    def action(
        self, where: tuple[Any, ...], prefix: str, item: Any, known: set[str], index: str
    ) -> ActionSpec | None:
        if not isinstance(item, dict):
            self.problem(
                self.at(*where),
                f'{prefix}an action is a mapping like reply: "Hello"',
                "start it with an action word and a colon",
            )
            return None
        kinds = [k for k in item if k not in ACTION_OPTIONS]
        if len(kinds) != 1:
            what = "no action" if not kinds else f"several actions ({', '.join(map(str, kinds))})"
            self.problem(self.at(*where), f"{prefix}{what} in one item", "write one action per `-` item")
            return None
        name = str(kinds[0])
        kind = ACTIONS.get(name)
        if kind is None:
            self.problem(
                self.at(*where, name, key=True),
                f"{prefix}unknown action {name!r}",
                did_you_mean(name, ACTIONS),
            )
            return None
        options = self.action_options(where, prefix, item)
        if options is None:
            return None
        retry, timeout, result_as = options
        params = kind.expand(item[name])
        nested: tuple[ActionSpec, ...] = ()
        if kind.nested and isinstance(params, dict) and isinstance(params.get(kind.nested), list):
            nested = tuple(
                self.actions(
                    (*where, name, kind.nested), prefix, params[kind.nested], set(known), f"{index}."
                )
            )
        if not self.params_valid(where, prefix, name, params) or not self.templates_valid(
            where, prefix, name, params, known
        ):
            return None
        if not self.static_checks(where, prefix, name, params):
            return None
        return ActionSpec(
            kind=name,
            params=params,
            index=index,
            retry=retry,
            timeout=timeout,
            result_as=result_as,
            location=f"{self.path}:{self.at(*where)[0]}",
            nested=nested,
        )

    def action_options(
        self, where: tuple[Any, ...], prefix: str, item: dict[str, Any]
    ) -> tuple[RetryPolicy | None, float | None, str | None] | None:
        retry = timeout = result_as = None
        ok = True
        if "retry" in item:
            try:
                retry = RetryPolicy.model_validate(item["retry"])
            except ValidationError as exc:
                self.pydantic_problems(exc, (*where, "retry"), f"{prefix}retry: ", RetryPolicy.model_fields)
                ok = False
        if "timeout" in item:
            try:
                timeout = parse_duration(item["timeout"])
            except (ValueError, TypeError) as exc:
                self.problem(self.at(*where, "timeout"), f"{prefix}timeout: {exc}")
                ok = False
        if "as" in item:
            result_as = item["as"]
            if not isinstance(result_as, str) or not _IDENTIFIER.match(result_as) or result_as in VARIABLES:
                self.problem(
                    self.at(*where, "as"),
                    f"{prefix}as: {result_as!r} cannot name a result",
                    "use a new word of letters, digits and _ (not a variable like text or sender)",
                )
                ok = False
        return (retry, timeout, result_as) if ok else None

    def params_valid(self, where: tuple[Any, ...], prefix: str, name: str, params: Any) -> bool:
        """Validate parameters as written: a template may stand where a number or yes/no goes."""
        try:
            ACTIONS[name].params.model_validate(params)
        except ValidationError as exc:
            real = [e for e in exc.errors(include_url=False) if not _is_template_value(e.get("input"))]
            base = (*where, name) if isinstance(self.at_value(*where, name), dict) else (*where,)
            for err in real:
                loc = tuple(err["loc"]) if isinstance(self.at_value(*where, name), dict) else ()
                if err["type"] == "extra_forbidden":
                    field_name = str(loc[-1]) if loc else ""
                    self.problem(
                        self.at(*base, *loc, key=True),
                        f"{prefix}{name}: unknown parameter {field_name!r}",
                        did_you_mean(field_name, ACTIONS[name].params.model_fields),
                    )
                else:
                    label = ".".join(str(p) for p in err["loc"]) or "value"
                    self.problem(
                        self.at(*base, *loc),
                        f"{prefix}{name}: {label}: {err['msg']}",
                        f"for example {ACTIONS[name].example}",
                    )
            return not real
        return True

    def at_value(self, *path: Any) -> Any:
        node = self.root
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node

    def static_checks(self, where: tuple[Any, ...], prefix: str, name: str, params: Any) -> bool:
        """The kind's own load-time checks (a pool file exists…), when its parameters are final."""
        check = ACTIONS[name].static_check
        if check is None:
            return True
        try:
            model = ACTIONS[name].params.model_validate(params)
        except ValidationError:
            return True  # templated values: checked when they render
        found = check(model, self.path.parent)
        for message, hint in found:
            self.problem(self.at(*where, name), f"{prefix}{name}: {message}", hint)
        return not found

    def secrets_valid(self, where: tuple[Any, ...], prefix: str, name: str, params: Any) -> bool:
        nested = ACTIONS[name].nested
        own = {k: v for k, v in params.items() if k != nested} if isinstance(params, dict) else params
        names = secrets.referenced(own)
        if names and not ACTIONS[name].uses_secrets:
            self.problem(
                self.at(*where, name),
                f"{prefix}{name}: secrets cannot be used here",
                "secrets go only to other systems (webhook), never into WhatsApp messages",
            )
            return False
        ok = True
        for problem in secrets.problems(names, self.env):
            mark = self.at(*where, name)
            self.problem(mark, f"{prefix}{name}: {problem.message}", problem.hint, warning=not problem.fatal)
            ok = ok and not problem.fatal
        return ok

    def templates_valid(
        self, where: tuple[Any, ...], prefix: str, name: str, params: Any, known: set[str]
    ) -> bool:
        if not self.secrets_valid(where, prefix, name, params):
            return False
        if ACTIONS[name].uses_secrets:
            known = known | {"secrets"}
        ok = True
        nested = ACTIONS[name].nested
        for loc, text in _strings(params, skip=nested):
            mark = (
                self.at(*where, name, *loc)
                if isinstance(self.at_value(*where, name), dict)
                else self.at(*where, name)
            )
            try:
                used = names_used(text)
            except TemplateError as exc:
                self.problem(mark, f"{prefix}{name}: {exc}", "templates look like {{ sender.name }}")
                ok = False
                continue
            for unknown in sorted(used - known):
                self.problem(
                    mark, f"{prefix}{name}: unknown variable {unknown!r}", did_you_mean(unknown, known)
                )
                ok = False
            for message, hint in reachability.unknown_fields(fields_of(text), FIELDS, self.own_names):
                self.problem(mark, f"{prefix}{name}: {message}", hint)
                ok = False
            for limit in template_problems(text):
                message = f"{prefix}{name}: the template cannot run within its limits: {limit}"
                self.problem(mark, message, _LIMITS_HINT, warning=True)
            in_url = len(loc) == 1 and loc[0] in ACTIONS[name].url_params and is_template(text)
            if in_url and (problem := urls.template_problem(text)):
                self.problem(mark, f"{prefix}{name}: {loc[0]}: {problem}", _URL_HINT)
                ok = False
        return ok

    # -- inline tests ---------------------------------------------------------------------------

    def inline_test(self, index: int, raw: Any) -> None:
        base = ("tests", index)
        try:
            model = TestModel.model_validate(raw)
        except ValidationError as exc:
            self.pydantic_problems(exc, base, f"test #{index + 1}: ", TestModel.model_fields)
            return
        prefix = f"test {model.name!r}: "
        given = [x for x in (model.event, model.event_file, model.tick) if x is not None]
        if len(given) != 1:
            self.problem(self.at(*base), f"{prefix}give one of event:, event_file: or tick:")
            return
        if model.tick is not None and model.now is None:
            self.problem(
                self.at(*base, "tick"),
                f"{prefix}tick: needs now: (the moment of the run)",
                'e.g. now: "2026-12-07T09:00:00+00:00"',
            )
            return
        event_file = None
        if model.event_file is not None:
            try:
                event_file = confined.check(self.path.parent, model.event_file)
            except FileRefusedError as exc:
                self.problem(
                    self.at(*base, "event_file"),
                    f"{prefix}event_file: {exc}",
                    "the path is relative to this rules file, and stays inside its folder",
                )
                return
        expect: list[tuple[str, Any]] = []
        for position, item in enumerate(model.expect):
            kinds = list(item) if isinstance(item, dict) else []
            if len(kinds) != 1 or kinds[0] not in ACTIONS:
                word = str(kinds[0]) if len(kinds) == 1 else ""
                self.problem(
                    self.at(*base, "expect", position),
                    f"{prefix}an expected action is one action word with its parameters",
                    did_you_mean(word, ACTIONS) if word else 'e.g. - reply: "Hello Alice!"',
                )
                return
            expect.append((kinds[0], ACTIONS[kinds[0]].expand(item[kinds[0]])))
        self.out.tests.append(
            InlineTest(
                name=model.name,
                location=f"{self.path}:{self.at(*base)[0]}",
                event=model.event,
                event_file=event_file,
                now=model.now,
                state=model.state,
                expect=tuple(expect),
                tick=model.tick,
            )
        )


@cache
def names_used(text: str) -> frozenset[str]:
    # the same template text is often written in many rules: parse it once per process
    return frozenset(_names_used(text))


@cache
def fields_of(text: str) -> frozenset[tuple[str, str]]:
    return frozenset(_fields_used(text))


@cache
def _adapter(trigger: str) -> TypeAdapter[Any]:
    return TypeAdapter(TRIGGERS[trigger].type_)


def _is_template_value(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _strings(
    value: Any, loc: tuple[Any, ...] = (), skip: str | None = None
) -> Iterable[tuple[tuple[Any, ...], str]]:
    """Every string inside `value` with its path (the nested-actions parameter skipped)."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for k, v in value.items():
            if not (loc == () and k == skip):
                yield from _strings(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*loc, i))


__all__ = ["CompiledRule", "InlineTest", "Loaded", "MarkedDict", "load", "read_list", "rule_files"]
