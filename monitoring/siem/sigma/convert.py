#!/usr/bin/env python3
"""Converts the kit's Sigma rules (this directory) into Elasticsearch queries on the ECS
documents of the Elasticsearch kit, with pySigma, its Elasticsearch backend and the kit's
processing pipeline (pipelines/mcp_ssh_ecs.yml).

    pip install pysigma==1.5.1 pysigma-backend-elasticsearch==2.1.1
    python3 convert.py --target lucene   # one Lucene query per detection rule (Kibana, query_string)
    python3 convert.py --target esql     # ES|QL for every rule, correlation rules included
    python3 convert.py --target json     # everything, per rule, for tools (the stack test reads this)

The Lucene backend has no correlation rules: the two rate rules (event_count correlations) are
converted to ES|QL only, which needs Elasticsearch 8.11+ (ES|QL generally available from 8.14).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sigma.backends.elasticsearch import ESQLBackend, LuceneBackend
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

HERE = Path(__file__).resolve().parent


def load(rules_dir: Path, pipeline_file: Path) -> tuple[SigmaCollection, ProcessingPipeline]:
    files = sorted(rules_dir.glob("*.yml"))
    if not files:
        raise SystemExit(f"no Sigma rules (*.yml) in {rules_dir}")
    collection = SigmaCollection.load_ruleset([str(f) for f in files])
    pipeline = ProcessingPipeline.from_yaml(pipeline_file.read_text(encoding="utf-8"))
    return collection, pipeline


def timespan_seconds(rule: SigmaCorrelationRule) -> int:
    return int(rule.timespan.seconds)


def describe(collection: SigmaCollection, pipeline: ProcessingPipeline) -> list[dict]:
    """Every rule with its queries. Each rule is converted on its own (a correlation with the
    rules it names), so a query belongs to exactly one rule."""
    out: list[dict] = []
    for rule in collection.rules:
        source = Path(str(rule.source.path)).name if rule.source and rule.source.path else None
        entry: dict = {
            "id": str(rule.id),
            "name": rule.name,
            "title": rule.title,
            "level": str(rule.level.name).lower() if rule.level else None,
            "file": source,
        }
        if isinstance(rule, SigmaCorrelationRule):
            referenced = [r.rule for r in rule.rules]
            single = SigmaCollection([*referenced, rule])
            esql = ESQLBackend(pipeline).convert(single)
            entry["kind"] = "correlation"
            entry["esql"] = esql[-1]
            cond = rule.condition
            entry["correlation"] = {
                "type": rule.type.name.lower(),
                "rules": [str(r.id) for r in referenced],
                # group-by fields after the pipeline's mapping, read back from pySigma itself
                "group_by": [str(g) for g in (rule.group_by or [])],
                "timespan_seconds": timespan_seconds(rule),
                "condition": {"op": cond.op.name.lower(), "count": cond.count},
            }
        else:
            assert isinstance(rule, SigmaRule)
            entry["kind"] = "detection"
            # A rule a correlation names is not output on its own (Sigma: no `generate: true`);
            # converted from a fresh copy here, so each building block can be checked too.
            alone = SigmaCollection([SigmaRule.from_dict(rule.to_dict())])
            entry["lucene"] = LuceneBackend(pipeline).convert(alone)[0]
            entry["esql"] = ESQLBackend(pipeline).convert(alone)[0]
            entry["building_block"] = not rule._output
        out.append(entry)
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", choices=["lucene", "esql", "json"], default="json")
    ap.add_argument("--rules", type=Path, default=HERE, help="directory of Sigma rules (default: this one)")
    ap.add_argument("--pipeline", type=Path, default=HERE / "pipelines" / "mcp_ssh_ecs.yml")
    args = ap.parse_args(argv)
    collection, pipeline = load(args.rules, args.pipeline)
    rules = describe(collection, pipeline)
    if args.target == "json":
        json.dump(rules, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for r in rules:
        query = r.get(args.target)
        if query is None:
            print(f"# {r['title']} ({r['id']}): a correlation rule, converted to ES|QL only", file=sys.stderr)
            continue
        print(f"// {r['title']} ({r['id']})\n{query}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
