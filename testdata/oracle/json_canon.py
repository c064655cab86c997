#!/usr/bin/env python3
"""The kit `x-sign` canonical payload (spec license-kit-openapi §4.3), for the oracle only.

The JDK has no JSON library, so Oracle.java pipes each kit body through this script. It mirrors
the Java demo (`new TreeMap<>(bodyMap)`, top-level nulls removed, Jackson `writeValueAsString`):

- parse the body as a JSON object, keeping the received key order at every depth;
- sort the top-level keys by UTF-16 code units (Java `String.compareTo`), drop top-level nulls;
- nested objects and arrays keep their order and their nulls;
- serialise compactly, non-ASCII characters raw (not \\u-escaped), '/' unescaped.

Caveats (no vector relies on them): Jackson prints doubles with Java's `Double.toString`
(`1.0E7`) and escapes control characters with uppercase hex (`\\u001F`); Python prints
`10000000.0` and `\\u001f`. The vectors only use integers, short decimals and \\n, \\t, \\u0001.

Usage: python3 json_canon.py < body.json > canonical.json
"""

import json
import sys


def utf16_key(item):
    return item[0].encode("utf-16-be")


def canonical(body: str) -> str:
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("kit body is not a JSON object")
    top = sorted(((k, v) for k, v in value.items() if v is not None), key=utf16_key)
    return json.dumps(dict(top), ensure_ascii=False, separators=(",", ":"))


def main() -> None:
    body = sys.stdin.buffer.read().decode("utf-8")
    sys.stdout.buffer.write(canonical(body).encode("utf-8"))


if __name__ == "__main__":
    main()
