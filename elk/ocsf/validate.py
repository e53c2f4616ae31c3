#!/usr/bin/env python3
"""Validates OCSF events (JSON lines on stdin, e.g. the documents of logs-mcp_ssh.ocsf-*) against
the OCSF schema, with ocsf-json-schema (the OCSF releases 1.0.0 to 1.7.0 as JSON Schema) and
jsonschema (Draft 2020-12). Each event is checked against the schema of its class_uid with the
profiles its metadata.profiles declares; `@timestamp`, the one non-OCSF field the data stream
needs, is removed first.

    pip install ocsf-json-schema==1.2.0 jsonschema==4.26.0
    python3 validate.py [--version 1.1.0 ...] < events.jsonl

Prints a JSON report ({"events": n, "valid": n, "errors": [...]}) and exits 1 when an event is
invalid (or 2 when a line is not a JSON object).
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import lru_cache

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

NOT_OCSF = ("@timestamp",)


@lru_cache(maxsize=None)
def embedded(version: str) -> OcsfJsonSchemaEmbedded:
    return OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))


@lru_cache(maxsize=None)
def validator(version: str, class_uid: int, profiles: tuple[str, ...]) -> Draft202012Validator:
    schema = embedded(version)
    name = schema.lookup_class_name_from_uid(class_uid)
    return Draft202012Validator(schema.get_class_schema(name, list(profiles)))


def check(event: dict, version: str) -> list[str]:
    ev = {k: v for k, v in event.items() if k not in NOT_OCSF}
    class_uid = ev.get("class_uid")
    if not isinstance(class_uid, int):
        return ["class_uid: missing or not an integer"]
    profiles = tuple(sorted((ev.get("metadata") or {}).get("profiles") or []))
    try:
        v = validator(version, class_uid, profiles)
    except Exception as e:  # an unknown class or profile in this release
        return [f"class_uid {class_uid} / profiles {list(profiles)}: {e}"]
    return [f"{'/'.join(map(str, err.absolute_path)) or '(event)'}: {err.message}" for err in v.iter_errors(ev)]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="append", help="OCSF release(s) to validate against (default 1.1.0)")
    args = ap.parse_args(argv)
    versions = args.version or ["1.1.0"]
    report: dict = {"versions": versions, "events": 0, "valid": 0, "classes": {}, "errors": []}
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            assert isinstance(event, dict)
        except (ValueError, AssertionError):
            print(f"line {n}: not a JSON object", file=sys.stderr)
            return 2
        report["events"] += 1
        key = f"{event.get('class_uid')}/{event.get('activity_id')}"
        report["classes"][key] = report["classes"].get(key, 0) + 1
        problems = [f"OCSF {v}: {p}" for v in versions for p in check(event, v)]
        if problems:
            report["errors"].append({"line": n, "problems": problems})
        else:
            report["valid"] += 1
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
