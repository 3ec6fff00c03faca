"""Validates session encodings against a generated JSON Schema with the `jsonschema` package,
an implementation that is not ours (tests/tests/integration/schema.rs).

Usage: python3 validate.py SCHEMA.json CASES.json
CASES.json is a list of JSON values; prints a JSON list with true (valid) or false per case.
The schema itself is first checked against the draft 2020-12 metaschema.
"""

import json
import sys

from jsonschema import Draft202012Validator


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        schema = json.load(file)
    with open(sys.argv[2], encoding="utf-8") as file:
        cases = json.load(file)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    print(json.dumps([validator.is_valid(case) for case in cases]))


if __name__ == "__main__":
    main()
