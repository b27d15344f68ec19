"""The "Resources & prompts" tab of a server's page: list the server's resources, resource
templates and prompts, read a resource (a template once its parameters are filled in) and get
a prompt with its arguments, like "Try it" does for tools.

Everything goes through gateway/operations.py (the rights, the pooled connection, the
``request`` server-log row of each read and get), from background events: a slow server never
locks the page.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any
from urllib.parse import quote

import reflex as rx

from mcp_orch_app.gateway import operations
from mcp_orch_app.gateway.upstream import UnusableList, UpstreamError, UpstreamFailure
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.live import route_ids, run_live
from mcp_orch_app.ui.tool_form import MediaItem, result_media

MAX_VALUE_LENGTH = 2000
# RFC 6570 expressions: {var}, {+var}, {?a,b}, ... (operator, variable list).
_EXPRESSION = re.compile(r"\{([+#./;?&]?)([^{}]+)\}")
_RESERVED = ":/?#[]@!$&'()*+,;="


@dataclasses.dataclass
class ResourceRow:
    uri: str = ""
    name: str = ""
    description: str = ""
    mime_type: str = ""


@dataclasses.dataclass
class TemplateRow:
    uri_template: str = ""
    name: str = ""
    description: str = ""
    variables: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class PromptArgument:
    name: str = ""
    description: str = ""
    required: bool = False


@dataclasses.dataclass
class PromptRow:
    name: str = ""
    description: str = ""
    arguments: list[PromptArgument] = dataclasses.field(default_factory=list)


def _text(value: Any, limit: int = 2000) -> str:
    return str(value)[:limit] if value is not None else ""


def template_variables(template: str) -> list[str]:
    """The variable names of a URI template, in order, each once."""
    names: list[str] = []
    for _, variables in _EXPRESSION.findall(template):
        for part in variables.split(","):
            name = part.strip().rstrip("*").split(":", 1)[0]
            if name and name not in names:
                names.append(name)
    return names


def fill_template(template: str, values: dict[str, str]) -> str:
    """The URI of ``template`` with ``values`` filled in (RFC 6570 level 1-3 operators);
    InvalidInput naming the first empty variable."""
    for name in template_variables(template):
        if not values.get(name, "").strip():
            raise InvalidInput(f"Fill in {name}.")

    def expand(match: re.Match[str]) -> str:
        operator, variables = match.groups()
        names = [p.strip().rstrip("*").split(":", 1)[0] for p in variables.split(",")]
        safe = _RESERVED if operator in ("+", "#") else ""
        parts = [quote(values[name].strip(), safe=safe) for name in names]
        if operator in ("?", "&"):
            pairs = "&".join(f"{n}={p}" for n, p in zip(names, parts, strict=True))
            return f"{operator}{pairs}"
        if operator == ";":
            return "".join(f";{n}={p}" for n, p in zip(names, parts, strict=True))
        joiner = {".": ".", "/": "/"}.get(operator, ",")
        prefix = operator if operator in ("#", ".", "/") else ""
        return prefix + joiner.join(parts)

    return _EXPRESSION.sub(expand, template)


def _contents_text(answer: dict[str, Any]) -> str:
    parts = []
    for item in answer.get("contents") or []:
        if not isinstance(item, dict):
            continue
        if "text" in item:
            parts.append(str(item["text"]))
        elif "blob" in item:
            size = len(str(item["blob"])) * 3 // 4
            parts.append(f"[{item.get('mimeType') or 'binary'} data, about {size} bytes]")
    return "\n\n".join(parts) if parts else "(the server answered with no contents)"


def _blob_media(answer: dict[str, Any]) -> list[MediaItem]:
    """Images and audio among a read's contents, checked as a tool result's are."""
    as_content = [
        {
            "type": str(item.get("mimeType") or "").split("/", 1)[0],
            "mimeType": item.get("mimeType"),
            "data": item.get("blob"),
        }
        for item in answer.get("contents") or []
        if isinstance(item, dict) and "blob" in item
    ]
    return result_media({"content": as_content})


def _messages_text(answer: dict[str, Any]) -> str:
    lines = []
    if answer.get("description"):
        lines.append(str(answer["description"]))
    for message in answer.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, dict) and content.get("type") == "text":
            body = str(content.get("text", ""))
        else:
            body = json.dumps(content, indent=2, ensure_ascii=False)
        lines.append(f"{message.get('role', '?')}: {body}")
    return "\n\n".join(lines) if lines else "(the prompt has no messages)"


def _why(exc: Exception) -> str:
    if isinstance(exc, UpstreamError):
        return f"The server answered with an error: {exc.message} (JSON-RPC error {exc.code})"
    return f"The server could not answer: {exc}"


class ServerBrowseState(AuthState):
    browse_loading: bool = False
    browse_loaded: bool = False
    browse_problem: str = ""
    resources: list[ResourceRow] = []
    templates: list[TemplateRow] = []
    prompts: list[PromptRow] = []
    # What is chosen: "resource", "template" or "prompt", and its uri / template / name.
    chosen_kind: str = ""
    chosen: str = ""
    chosen_variables: list[str] = []
    chosen_arguments: list[PromptArgument] = []
    form_error: str = ""
    asking: list[str] = []
    answer_title: str = ""
    answer_text: str = ""
    answer_raw: str = ""
    answer_media: list[MediaItem] = []
    answer_is_error: bool = False

    @rx.event
    def clear_browse(self):
        """Forget another server's lists and answer (the tab opens on this server)."""
        self.resources, self.templates, self.prompts = [], [], []
        self.chosen_kind = self.chosen = self.form_error = self.browse_problem = ""
        self.answer_title = self.answer_text = self.answer_raw = ""
        self.answer_media = []
        self.browse_loaded = False

    @rx.event(background=True)
    async def load_browse(self):
        """List the resources, templates and prompts (when the tab opens, and on Reload)."""
        async with self:
            if self.browse_loading:
                return
            self.browse_loading = True
            self.browse_problem = ""
        project_id, server_id = route_ids(self)

        async def listing(actor):
            found: dict[str, list[dict[str, Any]]] = {}
            problem = ""
            for kind in ("resources", "resource_templates", "prompts"):
                try:
                    found[kind] = await operations.list_offers(actor, project_id, server_id, kind)
                except (UpstreamFailure, UnusableList) as exc:
                    found[kind] = []
                    problem = _why(exc)
            return lambda: self._listed(found, problem)

        async for event in run_live(self, "asking", "__list__", listing):
            yield event
        async with self:
            self.browse_loading = False

    def _listed(self, found: dict[str, list[dict[str, Any]]], problem: str) -> None:
        self.resources = [
            ResourceRow(
                uri=_text(r.get("uri")),
                name=_text(r.get("name") or r.get("title")),
                description=_text(r.get("description")),
                mime_type=_text(r.get("mimeType")),
            )
            for r in found["resources"]
            if r.get("uri")
        ]
        self.templates = [
            TemplateRow(
                uri_template=_text(t.get("uriTemplate")),
                name=_text(t.get("name") or t.get("title")),
                description=_text(t.get("description")),
                variables=template_variables(_text(t.get("uriTemplate"))),
            )
            for t in found["resource_templates"]
            if t.get("uriTemplate")
        ]
        self.prompts = [
            PromptRow(
                name=_text(p.get("name"), 200),
                description=_text(p.get("description")),
                arguments=[
                    PromptArgument(
                        name=_text(a.get("name"), 200),
                        description=_text(a.get("description")),
                        required=a.get("required") is True,
                    )
                    for a in p.get("arguments") or []
                    if isinstance(a, dict) and a.get("name")
                ],
            )
            for p in found["prompts"]
            if p.get("name")
        ]
        self.browse_problem = problem
        self.browse_loaded = True

    @rx.event
    def choose(self, kind: str, key: str):
        self.form_error = ""
        if kind == "template":
            row = next((t for t in self.templates if t.uri_template == key), None)
            self.chosen_variables = row.variables if row else []
        elif kind == "prompt":
            prompt = next((p for p in self.prompts if p.name == key), None)
            self.chosen_arguments = prompt.arguments if prompt else []
        elif kind != "resource":
            return
        self.chosen_kind, self.chosen = kind, key

    def _answered(self, title: str, answer: dict[str, Any], text: str, media) -> None:
        self.answer_title = title
        self.answer_text = text
        self.answer_raw = json.dumps(answer, indent=2, ensure_ascii=False)
        self.answer_media = media
        self.answer_is_error = False

    def _failed(self, title: str, reason: str) -> None:
        self.answer_title = title
        self.answer_text = reason
        self.answer_raw = ""
        self.answer_media = []
        self.answer_is_error = True

    async def _read(self, uri: str):
        project_id, server_id = route_ids(self)

        async def read(actor):
            try:
                answer = await operations.read_resource(actor, project_id, server_id, uri)
            except UpstreamFailure as exc:
                reason = _why(exc)
                return lambda: self._failed(uri, reason)
            return lambda: self._answered(uri, answer, _contents_text(answer), _blob_media(answer))

        async for event in run_live(self, "asking", uri, read):
            yield event

    @rx.event(background=True)
    async def read_resource(self, uri: str):
        async with self:
            self.chosen_kind, self.chosen, self.form_error = "resource", uri, ""
        async for event in self._read(uri):
            yield event

    @rx.event(background=True)
    async def read_template(self, form: dict):
        async with self:
            template = self.chosen
            values = {k: str(v)[:MAX_VALUE_LENGTH] for k, v in form.items()}
            try:
                uri = fill_template(template, values)
            except InvalidInput as exc:
                self.form_error = exc.message
                return
            self.form_error = ""
        async for event in self._read(uri):
            yield event

    @rx.event(background=True)
    async def get_prompt(self, form: dict):
        async with self:
            name = self.chosen
            arguments: dict[str, str] = {}
            for argument in self.chosen_arguments:
                value = str(form.get(argument.name, ""))[:MAX_VALUE_LENGTH]
                if value.strip():
                    arguments[argument.name] = value
                elif argument.required:
                    self.form_error = f"Fill in {argument.name}."
                    return
            self.form_error = ""
        project_id, server_id = route_ids(self)

        async def get(actor):
            try:
                answer = await operations.get_prompt(actor, project_id, server_id, name, arguments)
            except UpstreamFailure as exc:
                reason = _why(exc)
                return lambda: self._failed(name, reason)
            return lambda: self._answered(name, answer, _messages_text(answer), [])

        async for event in run_live(self, "asking", name, get):
            yield event
