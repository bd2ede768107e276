"""The API's JSON parser (``DEFAULT_PARSER_CLASSES``). Apart from ``accounts.api``: DRF reads
the setting while ``rest_framework.views`` is imported, which that module imports."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json

from core import safejson


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with ``safejson``'s nesting limit: a body nested too deeply is a 400
    naming the limit, not a ``RecursionError`` (a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
            parse_constant = drf_json.strict_constant if self.strict else None
            return safejson.loads(text, parse_constant=parse_constant)
        except safejson.TooDeep as exc:
            raise ParseError(f"JSON parse error - the body is JSON {exc}.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
