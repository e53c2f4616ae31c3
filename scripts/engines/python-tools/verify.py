"""Proves the python-tools venv works before scripts/engines/python-tools.sh marks it ready:
pySigma converts a rule to Lucene and a correlation to ES|QL, and the OCSF validator passes a
valid event and refuses an invalid one. Exits non-zero (with the reason) otherwise."""

import sys

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema
from sigma.backends.elasticsearch import ESQLBackend, LuceneBackend
from sigma.collection import SigmaCollection
from sigma.processing.pipeline import ProcessingPipeline

RULES = """
title: probe
name: probe
logsource: {product: probe}
detection: {sel: {type: x}, condition: sel}
---
title: probe count
correlation: {type: event_count, rules: [probe], group-by: [alias], timespan: 1m, condition: {gte: 2}}
"""
PIPELINE = ProcessingPipeline.from_yaml(
    "name: probe\npriority: 10\ntransformations:\n  - type: field_name_mapping\n    mapping: {type: t.x}\n"
)


def fail(why: str) -> None:
    print(f"python-tools verify: {why}", file=sys.stderr)
    sys.exit(1)


# Lucene has no correlations (pySigma raises NotImplementedError): the base rule alone.
lucene = LuceneBackend(PIPELINE).convert(SigmaCollection.from_yaml(RULES.split("---")[0]))
if lucene != ["t.x:x"]:
    fail(f"unexpected Lucene output {lucene!r}")
esql = ESQLBackend(PIPELINE).convert(SigmaCollection.from_yaml(RULES))
if not any("stats event_count=count()" in q and "event_count >= 2" in q for q in esql):
    fail(f"unexpected ES|QL output {esql!r}")

schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version="1.1.0")).get_class_schema("api_activity")
validator = Draft202012Validator(schema)
good = {
    "activity_id": 99, "category_uid": 6, "class_uid": 6003, "type_uid": 600399, "severity_id": 1,
    "time": 1, "metadata": {"version": "1.1.0", "product": {"name": "p", "vendor_name": "v"}},
    "actor": {"user": {"name": "a"}}, "api": {"operation": "o"}, "src_endpoint": {"name": "n"},
}
if list(validator.iter_errors(good)):
    fail(f"a valid API Activity event was refused: {[e.message for e in validator.iter_errors(good)]}")
if not list(validator.iter_errors({**good, "class_uid": "6003", "no_such_attribute": 1})):
    fail("an invalid API Activity event was accepted")
