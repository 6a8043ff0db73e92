"""The API's JSON body parser: strict JSON (no NaN/Infinity, bounded nesting) whose strings hold no NUL character
and no lone UTF-16 surrogate, so a body the database could not store is a 400 before any view runs."""

from __future__ import annotations

import codecs
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from alignment_plugins.formats import strict_json
from marketplace.stored_json import storable_problem


class StrictJSONParser(JSONParser):
    """DRF's JSONParser with strict decoding and the storable-text rule."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        """The decoded body, or ParseError (400) saying what is wrong with it."""
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            text = codecs.getreader(encoding)(stream).read()
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - the body is not {encoding}: {exc}") from None
        data = strict_json(text, error=ParseError, what="JSON parse error - the body")
        problem = storable_problem(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        return data
