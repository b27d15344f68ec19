"""The "Try it" form of a tool: fields built from its JSON input schema, and the arguments read
back from what was typed.

A field per top-level property: strings, numbers, integers and booleans get their own control,
an ``enum`` a select, anything else (arrays, objects, unions of several types) a JSON text area.
Reading the form back checks every value first and raises InvalidInput naming the field, so a
wrong number or broken JSON is reported inline and no call is made.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any

from mcp_orch_app.services.errors import InvalidInput

SIMPLE_KINDS = ("string", "number", "integer", "boolean")
_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclasses.dataclass
class ToolField:
    """One input of the form; ``kind`` picks the control (string, number, integer, boolean,
    enum or json). ``options`` are the enum's values as the select sends them back."""

    name: str = ""
    kind: str = "string"
    required: bool = False
    description: str = ""
    options: list[str] = dataclasses.field(default_factory=list)
    default: str = ""
    placeholder: str = ""


def _option(value: Any) -> str:
    """How an enum value travels through the select: strings as they are, others as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _types(schema: dict[str, Any]) -> list[str]:
    """The JSON types a property allows, ``null`` left out (``Optional[int]`` is an integer)."""
    declared = schema.get("type")
    if isinstance(declared, str):
        found = [declared]
    elif isinstance(declared, list):
        found = [t for t in declared if isinstance(t, str)]
    else:
        found = []
        for branch in schema.get("anyOf") or schema.get("oneOf") or []:
            if isinstance(branch, dict):
                found.extend(_types(branch))
    return [t for t in dict.fromkeys(found) if t != "null"]


def _enum(schema: dict[str, Any]) -> list[Any] | None:
    if isinstance(schema.get("enum"), list):
        return [v for v in schema["enum"] if v is not None]
    if "const" in schema:
        return [schema["const"]]
    return None


def _kind(schema: dict[str, Any]) -> str:
    if _enum(schema):
        return "enum"
    types = _types(schema)
    if len(types) == 1 and types[0] in SIMPLE_KINDS:
        return types[0]
    return "json"


def _default_text(kind: str, schema: dict[str, Any]) -> str:
    if "default" not in schema or schema["default"] is None:
        return ""
    value = schema["default"]
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "enum":
        return _option(value)
    if kind == "json":
        return json.dumps(value, indent=2)
    return str(value)


def _placeholder(kind: str, schema: dict[str, Any]) -> str:
    if kind == "json":
        shapes = {("array",): "[ ... ]", ("object",): '{ "key": "value" }'}
        return shapes.get(tuple(_types(schema)), "any JSON value")
    return {"number": "a number, e.g. 2.5", "integer": "a whole number, e.g. 3"}.get(kind, "")


def _properties(input_schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    properties = input_schema.get("properties") if isinstance(input_schema, dict) else None
    if not isinstance(properties, dict):
        return {}
    return {str(k): v if isinstance(v, dict) else {} for k, v in properties.items()}


def _required(input_schema: dict[str, Any]) -> set[str]:
    required = input_schema.get("required") if isinstance(input_schema, dict) else None
    return {str(name) for name in required} if isinstance(required, list) else set()


def fields_of(input_schema: dict[str, Any]) -> list[ToolField]:
    """The form of a tool: one field per property of its input schema, in schema order."""
    required = _required(input_schema)
    fields = []
    for name, schema in _properties(input_schema).items():
        kind = _kind(schema)
        fields.append(
            ToolField(
                name=name,
                kind=kind,
                required=name in required,
                description=str(schema.get("description") or schema.get("title") or ""),
                options=[_option(v) for v in _enum(schema) or []],
                default=_default_text(kind, schema),
                placeholder=_placeholder(kind, schema),
            )
        )
    return fields


def _number(name: str, text: str, whole: bool) -> int | float:
    value = text.strip()
    if whole:
        if not _INTEGER.match(value):
            raise InvalidInput(f"{name} must be a whole number (you typed {text!r}).")
        return int(value)
    if not _NUMBER.match(value):
        raise InvalidInput(f"{name} must be a number (you typed {text!r}).")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput(f"{name} must be a finite number.")
    return int(value) if _INTEGER.match(value) else number


def _json_value(name: str, text: str, schema: dict[str, Any]) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{name} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    expected = {"array": list, "object": dict}
    types = _types(schema)
    if len(types) == 1 and types[0] in expected and not isinstance(value, expected[types[0]]):
        article = "an" if types[0] == "array" else "a JSON"
        raise InvalidInput(f"{name} must be {article} {types[0]}.")
    return value


def _value(field: ToolField, text: str, schema: dict[str, Any]) -> Any:
    if field.kind == "string":
        return text
    if field.kind in ("number", "integer"):
        return _number(field.name, text, whole=field.kind == "integer")
    if field.kind == "boolean":
        if text not in ("true", "false"):
            raise InvalidInput(f"{field.name} must be true or false.")
        return text == "true"
    if field.kind == "enum":
        for option in _enum(schema) or []:
            if _option(option) == text:
                return option
        raise InvalidInput(f"{field.name} must be one of: {', '.join(field.options)}.")
    return _json_value(field.name, text, schema)


def arguments_from(input_schema: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments from the submitted form, or InvalidInput for the first bad field.

    An empty field is left out (the tool's own default applies), unless it is required.
    """
    schemas = _properties(input_schema)
    arguments: dict[str, Any] = {}
    for field in fields_of(input_schema):
        raw = form.get(field.name)
        text = "" if raw is None else str(raw)
        if text.strip() == "":
            if field.required:
                raise InvalidInput(f"{field.name} is required.")
            continue
        arguments[field.name] = _value(field, text, schemas[field.name])
    return arguments


# Media a result may show inline. SVG is left out on purpose: it can carry scripts.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"})
AUDIO_TYPES = frozenset(
    {"audio/mpeg", "audio/mp3", "audio/wav", "audio/x-wav", "audio/ogg", "audio/webm", "audio/mp4"}
)
MAX_MEDIA_BYTES = 8 * 1024 * 1024
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


@dataclasses.dataclass
class MediaItem:
    """An image or audio clip of a result, as a ``data:`` URL the page can show."""

    kind: str = ""
    mime_type: str = ""
    src: str = ""
    label: str = ""


def _media(item: Any) -> MediaItem | None:
    """The item as inline media when it is an allowed image or audio type with valid base64
    data of a sensible size; None otherwise (it is then shown as JSON)."""
    if not isinstance(item, dict) or item.get("type") not in ("image", "audio"):
        return None
    kind = item["type"]
    mime = str(item.get("mimeType") or "").strip().lower()
    data = item.get("data")
    allowed = IMAGE_TYPES if kind == "image" else AUDIO_TYPES
    if mime not in allowed or not isinstance(data, str):
        return None
    data = "".join(data.split())
    if len(data) % 4 or not _BASE64.match(data) or len(data) * 3 // 4 > MAX_MEDIA_BYTES:
        return None
    size = len(data) * 3 // 4 - data.count("=")
    label = f"{kind} {mime}, {size / 1024:.1f} kB"
    return MediaItem(kind=kind, mime_type=mime, src=f"data:{mime};base64,{data}", label=label)


def result_media(result: dict[str, Any]) -> list[MediaItem]:
    """The images and audio clips of a result the page shows inline."""
    found = (_media(item) for item in result.get("content") or [])
    return [item for item in found if item is not None]


def result_text(result: dict[str, Any]) -> str:
    """What a tool answered, for reading: its text content, other content and the structured
    content as pretty JSON (images and audio shown inline are named, not printed)."""
    parts: list[str] = []
    for item in result.get("content") or []:
        if isinstance(item, dict) and item.get("type") == "text":
            parts.append(str(item.get("text", "")))
        elif (media := _media(item)) is not None:
            parts.append(f"[{media.label}, shown below]")
        else:
            parts.append(json.dumps(item, indent=2, ensure_ascii=False))
    if not parts and result.get("structuredContent") is not None:
        parts.append(json.dumps(result["structuredContent"], indent=2, ensure_ascii=False))
    return "\n\n".join(parts) if parts else "(the tool answered with no content)"
