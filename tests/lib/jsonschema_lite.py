#!/usr/bin/env python3
"""A checker of the subset of JSON Schema (draft 2020-12) that
results/schema/*.schema.json use: type, required, properties, items, enum,
additionalProperties (false or a schema).  The Python standard library has
no jsonschema; this is small enough to trust and refuses any other keyword,
so a schema cannot silently rely on one it does not check.

    validate(instance, schema) -> list of "path: what is wrong" (empty: valid)

As a program, for shell tests:

    jsonschema_lite.py SCHEMA FILE|-          one JSON document
    jsonschema_lite.py --lines SCHEMA FILE|-  JSON Lines: every line a document

prints the errors (at most 20) and exits 1 on any, 2 on unreadable input.
"""

import json
import sys

CHECKED = {"type", "required", "properties", "items", "enum", "additionalProperties"}
ANNOTATIONS = {"$schema", "$id", "title", "description", "$comment"}

TYPES = {
    "null": lambda x: x is None,
    "boolean": lambda x: isinstance(x, bool),
    "integer": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "number": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
    "string": lambda x: isinstance(x, str),
    "array": lambda x: isinstance(x, list),
    "object": lambda x: isinstance(x, dict),
}


class SchemaError(Exception):
    """The schema itself uses something this checker does not check."""


def _same(a, b):
    """enum equality as JSON means it: 1 is not true, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def validate(instance, schema, path="$"):
    """Every way instance breaks schema, as 'path: why' strings."""
    if schema is True:
        return []
    if schema is False:
        return [f"{path}: not allowed here"]
    if not isinstance(schema, dict):
        raise SchemaError(f"{path}: a schema must be an object or a boolean")
    unknown = set(schema) - CHECKED - ANNOTATIONS
    if unknown:
        raise SchemaError(f"{path}: keyword(s) this checker does not support: "
                          f"{', '.join(sorted(unknown))}")
    errors = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        for t in types:
            if t not in TYPES:
                raise SchemaError(f"{path}: unknown type {t!r}")
        if not any(TYPES[t](instance) for t in types):
            # a value of the wrong type: what follows would only repeat it
            return [f"{path}: {json.dumps(instance)[:60]} is not of type {'/'.join(types)}"]
    if "enum" in schema and not any(_same(instance, e) for e in schema["enum"]):
        errors.append(f"{path}: {json.dumps(instance)[:60]} is not one of {schema['enum']}")
    if isinstance(instance, dict):
        errors += _object(instance, schema, path)
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            errors += validate(item, schema["items"], f"{path}[{i}]")
    return errors


def _object(instance, schema, path):
    errors = [f"{path}: required property {k!r} is missing"
              for k in schema.get("required", []) if k not in instance]
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for k, v in instance.items():
        if k in props:
            errors += validate(v, props[k], f"{path}.{k}")
        elif extra is False:
            errors.append(f"{path}: property {k!r} is not in the schema")
        else:
            errors += validate(v, extra, f"{path}.{k}")
    return errors


def load_schema(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _main(argv):
    lines = argv[:1] == ["--lines"]
    args = argv[1:] if lines else argv
    if len(args) != 2:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    schema = load_schema(args[0])
    try:
        text = sys.stdin.read() if args[1] == "-" else open(args[1], encoding="utf-8").read()
        docs = ([json.loads(line) for line in text.splitlines()] if lines
                else [json.loads(text)])
    except (OSError, ValueError) as e:
        print(f"jsonschema_lite: {args[1]}: {e}", file=sys.stderr)
        return 2
    errors = []
    for n, d in enumerate(docs, 1):
        errors += [f"line {n}: {e}" if lines else e for e in validate(d, schema)]
    for e in errors[:20]:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
