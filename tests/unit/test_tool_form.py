"""The "Try it" form: fields built from a tool's input schema, and its values read back."""

from __future__ import annotations

import pytest

from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.ui.tool_form import arguments_from, fields_of, result_text

SCHEMA = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "What to say"},
        "times": {"type": "integer", "default": 1},
        "ratio": {"type": "number"},
        "loud": {"type": "boolean"},
        "mood": {"enum": ["calm", "angry"]},
        "level": {"enum": [1, 2, 3]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "options": {"type": "object"},
        "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
        "anything": {},
    },
    "required": ["text", "times"],
}


def test_each_property_gets_the_control_of_its_type():
    fields = {f.name: f for f in fields_of(SCHEMA)}

    assert list(fields) == list(SCHEMA["properties"])
    assert {name: f.kind for name, f in fields.items()} == {
        "text": "string",
        "times": "integer",
        "ratio": "number",
        "loud": "boolean",
        "mood": "enum",
        "level": "enum",
        "tags": "json",
        "options": "json",
        "maybe": "integer",
        "anything": "json",
    }
    assert [name for name, f in fields.items() if f.required] == ["text", "times"]
    assert fields["text"].description == "What to say"
    assert fields["times"].default == "1"
    assert fields["mood"].options == ["calm", "angry"]
    assert fields["level"].options == ["1", "2", "3"]
    assert fields["tags"].placeholder == "[ ... ]"


def test_a_tool_without_properties_has_an_empty_form():
    assert fields_of({"type": "object"}) == []
    assert fields_of({}) == []
    assert arguments_from({"type": "object"}, {"stray": "x"}) == {}


def test_typed_values_become_json_arguments_and_empty_optional_fields_are_left_out():
    form = {
        "text": "hello",
        "times": " 3 ",
        "ratio": "2.5",
        "loud": "false",
        "mood": "angry",
        "level": "2",
        "tags": '["a", "b"]',
        "options": '{"deep": {"x": 1}}',
        "maybe": "",
        "anything": "null",
    }

    assert arguments_from(SCHEMA, form) == {
        "text": "hello",
        "times": 3,
        "ratio": 2.5,
        "loud": False,
        "mood": "angry",
        "level": 2,
        "tags": ["a", "b"],
        "options": {"deep": {"x": 1}},
        "anything": None,
    }


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"times": "1"}, "text is required."),
        ({"text": "hi", "times": ""}, "times is required."),
        ({"text": "hi", "times": "two"}, "times must be a whole number (you typed 'two')."),
        ({"text": "hi", "times": "1.5"}, "times must be a whole number (you typed '1.5')."),
        ({"text": "hi", "times": "1", "ratio": "1,5"}, "ratio must be a number (you typed '1,5')."),
        ({"text": "hi", "times": "1", "ratio": "nan"}, "ratio must be a number (you typed 'nan')."),
        ({"text": "hi", "times": "1", "loud": "yes"}, "loud must be true or false."),
        ({"text": "hi", "times": "1", "mood": "sad"}, "mood must be one of: calm, angry."),
        (
            {"text": "hi", "times": "1", "tags": "[1, 2"},
            "tags is not valid JSON: Expecting ',' delimiter (line 1, column 6).",
        ),
        ({"text": "hi", "times": "1", "tags": '{"a": 1}'}, "tags must be an array."),
        ({"text": "hi", "times": "1", "options": "[1]"}, "options must be a JSON object."),
    ],
)
def test_a_wrong_value_is_refused_with_the_field_named(form, message):
    with pytest.raises(InvalidInput) as refused:
        arguments_from(SCHEMA, form)
    assert refused.value.message == message


def test_an_answer_is_shown_as_its_text_and_other_content_as_json():
    assert result_text({"content": [{"type": "text", "text": "hi"}], "isError": False}) == "hi"
    image = {"type": "image", "data": "AAA", "mimeType": "image/png"}
    shown = result_text({"content": [{"type": "text", "text": "a"}, image]})
    assert shown.startswith("a\n\n{") and '"mimeType": "image/png"' in shown
    assert result_text({"content": [], "structuredContent": {"n": 1}}) == '{\n  "n": 1\n}'
    assert result_text({"content": []}) == "(the tool answered with no content)"


PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


def test_allowed_images_and_audio_become_data_urls_and_are_not_printed():
    from mcp_orch_app.ui.tool_form import result_media

    result = {
        "content": [
            {"type": "text", "text": "a picture"},
            {"type": "image", "mimeType": "image/png", "data": PNG_1PX},
            {"type": "audio", "mimeType": "audio/wav", "data": "UklGRiQAAABXQVZF"},
        ]
    }
    media = result_media(result)
    assert [(m.kind, m.mime_type) for m in media] == [
        ("image", "image/png"),
        ("audio", "audio/wav"),
    ]
    assert media[0].src == f"data:image/png;base64,{PNG_1PX}"
    text = result_text(result)
    assert PNG_1PX not in text and "image image/png" in text and "shown below" in text


@pytest.mark.parametrize(
    "item",
    [
        {"type": "image", "mimeType": "image/svg+xml", "data": "PHN2Zz48L3N2Zz4="},
        {"type": "image", "mimeType": "text/html", "data": "PGI+"},
        {"type": "image", "mimeType": "image/png", "data": 'AAAA" onerror="alert(1)'},
        {"type": "image", "mimeType": "image/png", "data": "not base64!"},
        {"type": "image", "mimeType": "image/png;x=<script>", "data": "AAAA"},
        {"type": "audio", "mimeType": "image/png", "data": "AAAA"},
        {"type": "image", "mimeType": "image/png", "data": None},
    ],
)
def test_other_media_is_not_rendered_but_shown_as_json(item):
    from mcp_orch_app.ui.tool_form import result_media

    assert result_media({"content": [item]}) == []
    assert '"type": "' + item["type"] + '"' in result_text({"content": [item]})
