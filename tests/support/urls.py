"""The whole URLconf walked (manage.get.gov style): every route, and a URL matching each, for
the tests that must cover every view (sign-in, agency scope, hostile input)."""

import re

from django.urls import URLPattern, URLResolver, get_resolver


def walk(patterns, prefix=""):
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route


def concrete(route: str) -> str:
    """A URL that matches the pattern, with harmless values in each parameter."""
    route = route.lstrip("^").rstrip("$")
    route = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", "1", route)  # regex groups
    route = re.sub(r"<(?:\w+:)?(\w+)>", "1", route)  # path converters
    route = route.replace("\\.", ".").replace("\\", "").replace("(?:", "").replace(")?", "")
    route = route.replace("?", "").replace("$", "").replace("^", "")
    return "/" + route


ROUTES = sorted(set(walk(get_resolver().url_patterns)))
