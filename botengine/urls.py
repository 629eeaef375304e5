"""URLs written in rules, with values from events in them: `https://crm.example.com/c/{{ sender.number }}`.

The scheme and host are written out in the rule; templates fill in the path and the query only,
and every value they put there is percent-encoded (`/`, `?`, `#`, `&`, `=`, `+`, `%`, spaces…), so a
value stays inside its path segment or query value. A message reading `crm/../../admin?x=1#frag`
becomes one segment, `crm%2F..%2F..%2Fadmin%3Fx%3D1%23frag`, and never reaches `/admin`; a value
that is only dots (`..`) is encoded whole, so it cannot climb the path either.

    template_problem("https://{{ text }}/x")   # "the scheme and host must be written out …"
    same_origin(template, rendered)            # False when rendering moved the call elsewhere
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

# scheme://authority, the authority free of template markers, ending where the path, query or
# fragment begins (or the URL ends)
_LITERAL_ORIGIN = re.compile(r"^(https?)://([^/?#{}%\s\\]+)(?=[/?#]|$)", re.IGNORECASE)


def encode_component(text: str) -> str:
    """`text` as one path segment or one query value.

    `:` and `@` stay as they are: both are plain characters in a path segment and in a query
    value, and a JID (`447441429009@c.us`) stays readable. The host is fixed before any value
    (see template_problem), so an `@` here can never start a user name.
    """
    encoded = quote(text, safe=":@")
    return "%2E" * len(encoded) if encoded in (".", "..") else encoded


def template_problem(template: str) -> str | None:
    """Why a URL template may not be used (None when it may)."""
    if "{%" in template or "{#" in template:
        return "a URL takes {{ values }} only, no {% blocks %} or {# comments #}"
    if _LITERAL_ORIGIN.match(template) is None:
        return (
            "the scheme and host must be written out, like https://crm.example.com/…; "
            "values from {{ }} may fill in the path and the query only"
        )
    return None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def same_origin(template: str, rendered: str) -> bool:
    """Whether the rendered URL still goes to the scheme and host written in the template."""
    literal = _LITERAL_ORIGIN.match(template)
    return literal is not None and _origin(literal.group(0)) == _origin(rendered)
