"""The rules editor: list, open, create and delete rules files; edit with line numbers and the
checker's problems at their lines; run the file's tests and try a message or a recent event on
the unsaved text; save (atomic, conflict-checked), every save a version with who, when and a
diff, and one-click rollback.

The checks, tests and tries change nothing, so a read-only (viewer) login may use them; saving,
creating, deleting and rolling back need an admin login. A save the checker finds mistakes in
asks first: the engine would keep running the file's previous rules until they are fixed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from botengine.dashboard.auth import Session
from botengine.dashboard.traces import TraceStore
from botengine.dashboard.trials import Message, Trial, known_people, try_event, try_message
from botengine.dashboard.ui import PREFIX, Ui, json_answer, zone_of
from botengine.errors import ConflictError, EditError
from botengine.inline_tests import TestOutcome, run_tests
from botengine.rules.engine import RuleSet
from botengine.rules.folder import RulesFolder, digest_of, normalized
from botengine.rules.history import RulesHistory, Version
from botengine.rules.loader import Loaded
from botengine.rules.problems import Problem

# A new file's example answers one exact text only, so creating a file changes nothing a customer
# sees: it shows the shape of a rule and its test, ready to be changed and tried.
STARTER = """# yaml-language-server: $schema=../docs/rules.schema.json
rules:
  - name: {rule}
    description: What this rule is for (it now answers only the text "try {rule}")
    if:
      chat: contact
      equals: "try {rule}"
    do:
      - reply: "Hello {{{{ sender.name or 'there' }}}}! This is the {rule} rule: change me."

tests:
  - name: answers its example
    event: {{text: "try {rule}", name: Alice}}
    expect:
      - reply: "Hello Alice! This is the {rule} rule: change me."
"""


@dataclass
class Checked:
    """The checker's word on a file's text: its own problems, and how many the other files have."""

    problems: list[Problem] = field(default_factory=list)
    others: int = 0
    loaded: Loaded | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def as_json(self) -> dict[str, Any]:
        return {
            "problems": [
                {"line": p.line, "col": p.col, "message": p.message, "hint": p.hint, "severity": p.severity}
                for p in self.problems
            ],
            "others": self.others,
        }


class Editor:
    def __init__(self, ui: Ui, folder: RulesFolder, history: RulesHistory, traces: TraceStore) -> None:
        self.ui, self.folder, self.history, self.traces = ui, folder, history, traces

    def routes(self) -> list[BaseRoute]:
        page = self.ui.guarded
        return [
            Route("/editor", page(self.files)),
            Route("/editor/new", page(self.create, write=True), methods=["POST"]),
            Route("/editor/{name}", page(self.open), methods=["GET"]),
            Route("/editor/{name}", page(self.act), methods=["POST"]),
            Route("/editor/{name}/check", page(self.live_check), methods=["POST"]),
            Route("/editor/{name}/versions/{version}", page(self.version)),
            Route(
                "/editor/{name}/versions/{version}/rollback",
                page(self.rollback, write=True),
                methods=["POST"],
            ),
        ]

    # -- the list -------------------------------------------------------------------------------

    async def files(self, request: Request, session: Session, error: str = "") -> Response:
        names = self.folder.names()
        deleted = [n for n in await self.history.files() if n not in names]
        loaded = await asyncio.to_thread(self.folder.load)
        rows = []
        for name in names:
            mine = f"{self.folder.path(name)}:"
            versions = await self.history.versions(name)
            rows.append(
                {
                    "name": name,
                    "rules": [r.name for r in loaded.rules if r.location.startswith(mine)],
                    "tests": sum(t.location.startswith(mine) for t in loaded.tests),
                    "problems": sum(p.path == mine[:-1] and p.severity == "error" for p in loaded.problems),
                    "saved": versions[0] if versions else None,
                }
            )
        response = self.ui.render(
            request,
            "editor_files.html",
            session,
            rows=rows,
            deleted=deleted,
            error=error,
            done=request.query_params.get("done", ""),
        )
        if error:
            response.status_code = 400
        return response

    async def create(self, request: Request, session: Session) -> Response:
        name = request.state.form.get("name", "").strip()
        if name and "." not in name:
            name += ".yaml"
        try:
            rule = await self._free_rule_name(name.rsplit(".", 1)[0] or "my-rule")
            made = await asyncio.to_thread(self.folder.write, name, STARTER.format(rule=rule), expected="")
        except ConflictError:
            return await self.files(request, session, f"{name} exists already: open it from the list")
        except EditError as exc:
            return await self.files(request, session, str(exc))
        await self.history.record(name, made.text, who=session.user, action="created")
        return RedirectResponse(f"{PREFIX}/editor/{quote(name)}", 303)

    async def _free_rule_name(self, wanted: str) -> str:
        """`wanted`, or `wanted-2`…: rule names are unique across the files."""
        taken = {r.name for r in (await asyncio.to_thread(self.folder.load)).rules}
        name, n = wanted, 2
        while name in taken:
            name, n = f"{wanted}-{n}", n + 1
        return name

    # -- one file -------------------------------------------------------------------------------

    async def open(self, request: Request, session: Session) -> Response:
        name = request.path_params["name"]
        try:
            opened = await asyncio.to_thread(self.folder.read, name)
        except EditError as exc:
            return await self.files(request, session, str(exc))
        if not opened.exists:
            return self.ui.missing(request, session, f"The rules file {name}")
        saved = request.query_params.get("saved", "")
        return await self._page(request, session, name, opened.text, opened.digest, notice=saved and "Saved.")

    async def act(self, request: Request, session: Session) -> Response:
        """The editor's buttons: check, test, try (anyone), save and delete (admins)."""
        name, form = request.path_params["name"], request.state.form
        verb, text, base = form.get("verb", "check"), normalized(form.get("text", "")), form.get("base", "")
        if verb in ("save", "save-anyway", "delete") and not session.can_edit:
            return Response("this login is read-only: it can look, not change", 403)
        try:
            if verb in ("save", "save-anyway"):
                return await self._save(request, session, name, text, base, anyway=verb == "save-anyway")
            if verb == "delete":
                return await self._delete(request, session, name, base)
            checked = await self._check(name, text)
        except EditError as exc:
            return await self.files(request, session, str(exc))
        outcomes = await self._tests(name, checked) if verb == "test" else None
        trial = await self._try(request, checked) if verb == "try" else None
        return await self._page(
            request, session, name, text, base, checked=checked, outcomes=outcomes, trial=trial
        )

    async def live_check(self, request: Request, session: Session) -> Response:
        """The as-you-type check (the page's script calls it, debounced): problems as JSON."""
        try:
            checked = await self._check(request.path_params["name"], request.state.form.get("text", ""))
        except EditError as exc:
            return json_answer({"error": str(exc)}, 400)
        return json_answer(checked.as_json())

    async def _check(self, name: str, text: str) -> Checked:
        loaded = await asyncio.to_thread(self.folder.check, name, text)
        mine = str(self.folder.path(name))
        own = [p for p in loaded.problems if p.path == mine]
        others = sum(p.severity == "error" and p.path != mine for p in loaded.problems)
        return Checked(sorted(own, key=lambda p: (p.line, p.col)), others, loaded)

    async def _tests(self, name: str, checked: Checked) -> list[TestOutcome] | None:
        """The file's own tests on its unsaved text; None when the rules do not load."""
        loaded = checked.loaded
        if loaded is None or loaded.errors:
            return None
        rules = RuleSet(loaded.rules, version="unsaved", tests=loaded.tests)
        mine = f"{self.folder.path(name)}:"
        return await run_tests(rules, [t for t in loaded.tests if t.location.startswith(mine)])

    async def _try(self, request: Request, checked: Checked) -> Trial:
        loaded = checked.loaded
        if loaded is None or loaded.errors:
            return Trial(error="the rules do not load yet: fix the problems first")
        rules = RuleSet(loaded.rules, version="unsaved", tests=loaded.tests)
        form = request.state.form
        if form.get("mode") == "recent":
            trace = await self.traces.get(form.get("recent", ""))
            envelope = trace.get("envelope") if trace else None
            if not isinstance(envelope, dict):
                return Trial(error="that event is no longer kept (or too large to try again): pick another")
            return await try_event(rules, json.dumps(envelope, indent=2, ensure_ascii=False))
        return await try_message(rules, Message.of(form), zone_of(request))

    async def _save(
        self, request: Request, session: Session, name: str, text: str, base: str, *, anyway: bool
    ) -> Response:
        checked = await self._check(name, text)
        if checked.errors and not anyway:
            return await self._page(request, session, name, text, base, checked=checked, confirm=True)
        try:
            before = await asyncio.to_thread(self.folder.read, name)
            if before.exists and before.text == text and before.digest == base:
                return await self._page(
                    request, session, name, text, base, checked=checked, notice="Nothing changed."
                )
            await self.history.before_saving(name, before.text, before.exists)
            await asyncio.to_thread(self.folder.write, name, text, expected=base)
        except ConflictError as exc:
            return await self._page(request, session, name, text, base, checked=checked, conflict=exc.current)
        await self.history.record(name, text, who=session.user, action="saved")
        return RedirectResponse(f"{PREFIX}/editor/{quote(name)}?saved=1", 303)

    async def _delete(self, request: Request, session: Session, name: str, base: str) -> Response:
        try:
            gone = await asyncio.to_thread(self.folder.delete, name, expected=base)
        except ConflictError as exc:
            return await self._page(request, session, name, exc.current, base, conflict=exc.current)
        await self.history.before_saving(name, gone.text, True)
        await self.history.record(name, "", who=session.user, action="deleted", deleted=True)
        return RedirectResponse(f"{PREFIX}/editor?done=deleted {quote(name)}", 303)

    # -- versions -------------------------------------------------------------------------------

    async def version(self, request: Request, session: Session) -> Response:
        name, version_id = request.path_params["name"], request.path_params["version"]
        versions = await self.history.versions(name)
        chosen = next((i for i, v in enumerate(versions) if v.id == version_id), None)
        if version_id == "latest" and versions:
            chosen = 0
        if chosen is None:
            return self.ui.missing(request, session, "This version")
        version = versions[chosen]
        before = versions[chosen + 1] if chosen + 1 < len(versions) else None
        try:
            current = await asyncio.to_thread(self.folder.read, name)
        except EditError as exc:  # it became a link or a folder since it was saved
            return await self.files(request, session, str(exc))
        return self.ui.render(
            request,
            "editor_version.html",
            session,
            name=name,
            version=version,
            diff=version.diff(before),
            current=current,
            is_current=version.digest == current.digest,
            versions=versions,
        )

    async def rollback(self, request: Request, session: Session) -> Response:
        name, version_id = request.path_params["name"], request.path_params["version"]
        version = await self.history.get(name, version_id)
        if version is None:
            return self.ui.missing(request, session, "This version")
        base = request.state.form.get("base", "")
        try:
            before = await asyncio.to_thread(self.folder.read, name)
            await self.history.before_saving(name, before.text, before.exists)
            if version.deleted:
                await asyncio.to_thread(self.folder.delete, name, expected=base)
            else:
                await asyncio.to_thread(self.folder.write, name, version.text, expected=base)
        except ConflictError as exc:
            return await self._page(request, session, name, exc.current, base, conflict=exc.current)
        except EditError as exc:
            return await self.files(request, session, str(exc))
        action = f"rolled back to the version of {_stamp(version)}"
        await self.history.record(
            name, version.text, who=session.user, action=action, deleted=version.deleted
        )
        if version.deleted:
            return RedirectResponse(f"{PREFIX}/editor?done=deleted {quote(name)}", 303)
        return RedirectResponse(f"{PREFIX}/editor/{quote(name)}?saved=1", 303)

    # -- the page -------------------------------------------------------------------------------

    async def _page(
        self,
        request: Request,
        session: Session,
        name: str,
        text: str,
        base: str,
        *,
        checked: Checked | None = None,
        outcomes: list[TestOutcome] | None = None,
        trial: Trial | None = None,
        conflict: str | None = None,
        confirm: bool = False,
        notice: str = "",
    ) -> Response:
        checked = checked or await self._check(name, text)
        form = request.state.form if request.method == "POST" else {}
        response = self.ui.render(
            request,
            "editor.html",
            session,
            name=name,
            text=text,
            base=base,
            dirty=digest_of(text) != base,
            lines=max(1, text.count("\n") + (0 if text.endswith("\n") else 1)),
            checked=checked,
            marks={p.line: p.severity for p in reversed(checked.problems)},
            outcomes=outcomes,
            tested=outcomes is not None or form.get("verb") == "test",
            trial=trial or Trial(),
            tried=trial is not None,
            message=Message.of(form) if form.get("mode") != "recent" else Message(),
            mode=form.get("mode", "message"),
            recent=await self.traces.recent("", 30),
            chosen_recent=form.get("recent", ""),
            people=known_people(self.folder.root),
            conflict=conflict,
            confirm=confirm,
            notice=notice,
            versions=await self.history.versions(name),
        )
        if conflict is not None:
            response.status_code = 409
        return response


def _stamp(version: Version) -> str:
    return datetime.fromtimestamp(version.at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
