"""The offer's JSON, measured before it is parsed.

An offer is one flat object (``{"sdp": ..., "type": "offer", ...}``). Python's JSON parser
recurses once per nesting level, so a body of 100 000 ``[`` ends in a RecursionError, deep in
the parser, instead of a clear refusal. Here the body's nesting and its number of values are
counted first, by one regular expression that steps over whole strings in linear time (an
unclosed string stops it at once), and only a body within the bounds is parsed.
"""

from __future__ import annotations

import json
import re

#: Nesting an offer may have (it needs 1: one object of strings and numbers).
MAX_DEPTH = 4
#: Strings and brackets an offer may hold (a full one has about 15).
MAX_TOKENS = 256

#: A whole JSON string (escapes included), or a lone quote (a string never closed), or a
#: bracket. Possessive repeats: no backtracking, whatever the body.
_TOKEN = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"|["\[\]{}]', re.DOTALL)
_OPEN, _QUOTE = frozenset(b"[{"), ord('"')


def parse_offer_json(body: bytes) -> object:
    """The parsed body, or ValueError saying why it is not one flat JSON object's worth."""
    depth = 0
    for count, token in enumerate(_TOKEN.finditer(body)):
        if count >= MAX_TOKENS:
            raise ValueError(f"it holds more than {MAX_TOKENS} strings and brackets")
        start, end = token.span()
        first = body[start]
        if first == _QUOTE:
            if end - start == 1:
                raise ValueError("a string is not closed")
            continue
        depth += 1 if first in _OPEN else -1
        if depth > MAX_DEPTH:
            raise ValueError(f"it is nested deeper than {MAX_DEPTH} levels")
    return json.loads(body)
