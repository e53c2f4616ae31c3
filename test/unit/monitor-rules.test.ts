/**
 * The monitoring files (monitoring/): Prometheus alert rules and their promtool tests, the
 * Grafana dashboards, the Elastic Security detection rules and the Sigma rules. Checked for
 * shape here, and against what the project really emits: every metric a rule or panel uses
 * is registered by the metrics sink, every Elasticsearch field a detection rule queries is in
 * the ES kit's mapping, every Sigma field is a field of the event model. (promtool runs the
 * rule tests in test/stack/prometheus-rules.test.ts.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMAS } from '../../src/telemetry/events.js';
import { MetricsSink } from '../../src/telemetry/metrics.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

/** Metric names the orchestrator serves, histogram series included, plus what Prometheus adds. */
async function servedMetrics(): Promise<Set<string>> {
  const sink = new MetricsSink(() => 0);
  const names = new Set<string>(['up', 'ALERTS']);
  for (const m of await sink.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

const metricNames = (expr: string): string[] =>
  [...expr.matchAll(/\b((?:ssh|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1] as string);

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

describe('Prometheus alert rules', () => {
  const groups = (
    parse(read('monitoring/prometheus/alerts.yml')) as { groups: Array<{ name: string; rules: AlertRule[] }> }
  ).groups;
  const rules = groups.flatMap((g) => g.rules);

  it('has the alerts the observability guide lists, and more', () => {
    const names = rules.map((r) => r.alert);
    for (const a of [
      'HighCommandRate',
      'PolicyViolation',
      'AuthFailureSpike',
      'SlowCommandExecution',
      'HighCPUUsage',
      'HighMemoryUsage',
    ]) {
      expect(names).toContain(a);
    }
    expect(new Set(names).size).toBe(names.length);
    expect(groups.map((g) => g.name)).toEqual(['mcp-ssh-security', 'mcp-ssh-operations']);
  });

  it('every rule has a severity, a category, a summary and a runbook section in the docs', () => {
    const doc = read('docs/security-monitoring.md').toLowerCase();
    for (const r of rules) {
      expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels.severity);
      expect(['security', 'operations'], r.alert).toContain(r.labels.category);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      const anchor = r.annotations.runbook?.split('#')[1];
      expect(anchor, r.alert).toBe(r.alert.toLowerCase());
      expect(doc, `docs/security-monitoring.md has no "### ${r.alert}"`).toContain(`### ${r.alert.toLowerCase()}`);
    }
  });

  it('uses only metrics the orchestrator serves', async () => {
    const served = await servedMetrics();
    for (const r of rules) for (const m of metricNames(r.expr)) expect(served, `${r.alert}: ${m}`).toContain(m);
  });

  it('every alert has a promtool test that shows it firing', () => {
    const tests = parse(read('monitoring/prometheus/alerts.test.yml')) as {
      rule_files: string[];
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    expect(tests.rule_files).toEqual(['alerts.yml']);
    const firing = new Set(
      tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
    );
    expect([...firing].sort()).toEqual(rules.map((r) => r.alert).sort());
  });
});

interface Panel {
  id: number;
  title: string;
  type: string;
  datasource: { type: string; uid: string };
  targets: Array<{ expr: string; refId: string; legendFormat: string }>;
}

describe('Grafana dashboards', () => {
  const dashboards = ['security', 'operations'].map(
    (n) =>
      JSON.parse(read(`monitoring/grafana/${n}.json`)) as {
        uid: string;
        title: string;
        panels: Panel[];
        templating: { list: Array<{ name: string }> };
      },
  );

  it('are importable dashboards with a Prometheus datasource variable and a host filter', () => {
    for (const d of dashboards) {
      expect(d.uid).toMatch(/^mcp-ssh-/);
      expect(d.templating.list.map((v) => v.name)).toEqual(['datasource', 'alias']);
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of d.panels) {
        expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(p.targets.length, p.title).toBeGreaterThan(0);
      }
    }
  });

  it('have the panels of the observability guide', () => {
    const [security, operations] = dashboards;
    const find = (d: (typeof dashboards)[number] | undefined, title: string): Panel | undefined =>
      d?.panels.find((p) => p.title === title);
    expect(find(security, 'Policy Violations')?.targets[0]?.expr).toBe(
      'sum(rate(ssh_policy_violations_total[$__rate_interval]))',
    );
    expect(find(security, 'Authentication Failures')?.targets[0]?.legendFormat).toBe('{{alias}}');
    expect(find(operations, 'Command Execution Rate')?.targets[0]?.legendFormat).toBe('{{alias}} - {{status}}');
    expect(find(operations, 'Command Duration')?.targets[0]?.expr).toContain('histogram_quantile(0.95');
  });

  it('query only metrics the orchestrator serves', async () => {
    const served = await servedMetrics();
    for (const d of dashboards) {
      for (const p of d.panels)
        for (const t of p.targets) for (const m of metricNames(t.expr)) expect(served, `${p.title}: ${m}`).toContain(m);
    }
  });
});

/** Field names of the ES kit's mapping (elk/elasticsearch/component_templates/logs-mcp_ssh@mappings.json). */
function mappedFields(): Set<string> {
  const tpl = JSON.parse(read('elk/elasticsearch/component_templates/logs-mcp_ssh@mappings.json')) as {
    template: { mappings: { properties: Record<string, unknown> } };
  };
  const out = new Set<string>();
  const walk = (prefix: string, props: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(props)) {
      const node = v as { properties?: Record<string, unknown> };
      if (node.properties) walk(`${prefix}${k}.`, node.properties);
      else out.add(`${prefix}${k}`);
    }
  };
  walk('', tpl.template.mappings.properties);
  return out;
}

/** Fields a Lucene query names (`field:value`, `_exists_:field`). */
function luceneFields(query: string): string[] {
  const fields = [...query.matchAll(/(?:^|[\s(])([a-z_@][a-z0-9_.@]*):/g)]
    .map((m) => m[1] as string)
    .filter((f) => f !== '_exists_');
  return [...fields, ...[...query.matchAll(/_exists_:([a-z0-9_.]+)/g)].map((m) => m[1] as string)];
}

const elasticRule = z
  .object({
    rule_id: z.uuid(),
    name: z.string().min(1),
    description: z.string().min(20),
    type: z.enum(['query', 'threshold']),
    language: z.enum(['kuery', 'lucene']),
    query: z.string().min(1),
    index: z.array(z.string()).min(1),
    risk_score: z.number().int().min(0).max(100),
    severity: z.enum(['low', 'medium', 'high', 'critical']),
    from: z.string().regex(/^now-\d+[smh]$/),
    interval: z.string().regex(/^\d+[smh]$/),
    enabled: z.boolean(),
    version: z.number().int().min(1),
    max_signals: z.number().int().min(1),
    tags: z.array(z.string()),
    author: z.array(z.string()).min(1),
    license: z.string(),
    threat: z
      .array(
        z.object({
          framework: z.literal('MITRE ATT&CK'),
          tactic: z.object({ id: z.string().regex(/^TA\d{4}$/), name: z.string(), reference: z.url() }),
          technique: z.array(
            z.object({ id: z.string().regex(/^T\d{4}$/), name: z.string(), reference: z.url() }).loose(),
          ),
        }),
      )
      .min(1),
    threshold: z.object({ field: z.array(z.string()).min(1), value: z.number().int().min(1) }).optional(),
    required_fields: z.array(z.object({ name: z.string(), type: z.string(), ecs: z.boolean() })),
    false_positives: z.array(z.string()),
    note: z.string(),
  })
  .loose()
  .refine(
    (r) => (r.type === 'threshold') === (r.threshold !== undefined),
    'threshold rules, and only they, have a threshold',
  );

describe('Elastic Security detection rules (NDJSON)', () => {
  const dir = 'monitoring/siem/elastic';
  const files = readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.ndjson'));
  const rules = files.flatMap((f) =>
    read(`${dir}/${f}`)
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as z.infer<typeof elasticRule>),
  );

  it('each line is a rule with the fields the import API requires', () => {
    expect(rules.length).toBeGreaterThanOrEqual(6);
    for (const r of rules) {
      const parsed = elasticRule.safeParse(r);
      expect(parsed.success, `${r.name}: ${parsed.error?.message}`).toBe(true);
    }
    expect(new Set(rules.map((r) => r.rule_id)).size).toBe(rules.length);
  });

  it('covers the detections: violations, path traversal, bypass, auth failure spike, destructive commands, command rate', () => {
    const byName = (s: string) => rules.find((r) => r.name.toLowerCase().includes(s));
    expect(byName('policy violation')?.type).toBe('query');
    expect(byName('path traversal')?.query).toContain('path_traversal_attempt');
    expect(byName('bypass')?.severity).toBe('critical');
    expect(byName('authentication failure spike')).toMatchObject({
      type: 'threshold',
      threshold: { field: ['host.name'], value: 5 },
    });
    expect(byName('destructive')?.query).toContain('NOT host.name:');
    expect(byName('command rate')).toMatchObject({
      type: 'threshold',
      threshold: { field: ['host.name'], value: 100 },
    });
  });

  it('query the logs-mcp_ssh data streams by fields the ES kit maps', () => {
    const mapped = mappedFields();
    for (const r of rules) {
      expect(r.index).toEqual(['logs-mcp_ssh.*']);
      for (const f of [
        ...luceneFields(r.query),
        ...(r.threshold?.field ?? []),
        ...r.required_fields.map((x) => x.name),
      ]) {
        expect(mapped, `${r.name}: ${f}`).toContain(f);
      }
    }
  });

  it('name event values the orchestrator really emits', () => {
    const securityTypes = new Set((EVENT_SCHEMAS.security_event.shape.event_type as z.ZodEnum).options);
    for (const r of rules) {
      for (const m of r.query.matchAll(/event\.action:([a-z_]+)/g)) {
        if (m[1] !== 'policy_decision') expect(securityTypes, r.name).toContain(m[1]);
      }
      for (const m of r.query.matchAll(/mcp_ssh\.event\.type:([a-z_]+)/g))
        expect(Object.keys(EVENT_SCHEMAS)).toContain(m[1]);
    }
  });
});

/** The required keys of a Sigma rule (detection or correlation), after the Sigma specification. */
const sigmaCommon = {
  title: z.string().min(1).max(256),
  id: z.uuid().optional(),
  name: z
    .string()
    .regex(/^[a-z0-9_]+$/)
    .optional(),
  status: z.enum(['stable', 'test', 'experimental', 'deprecated', 'unsupported']).optional(),
  description: z.string().optional(),
  references: z.array(z.string()).optional(),
  author: z.string().optional(),
  date: z
    .string()
    .regex(/^\d{4}[-/]\d{2}[-/]\d{2}$/)
    .optional(),
  modified: z.string().optional(),
  tags: z.array(z.string().regex(/^[a-z0-9_-]+\.[a-z0-9._-]+$/)).optional(),
  falsepositives: z.array(z.string()).optional(),
  level: z.enum(['informational', 'low', 'medium', 'high', 'critical']).optional(),
  fields: z.array(z.string()).optional(),
  // SigmaHQ's custom field: the info.yml of the rule's sample logs (regression_data/).
  regression_tests_path: z
    .string()
    .regex(/^regression_data\/[a-z0-9_]+\/info\.yml$/)
    .optional(),
};
const sigmaDetectionRule = z
  .object({
    ...sigmaCommon,
    logsource: z
      .object({
        category: z.string().optional(),
        product: z.string().optional(),
        service: z.string().optional(),
        definition: z.string().optional(),
      })
      .refine((l) => l.category ?? l.product ?? l.service, 'logsource needs a category, product or service'),
    detection: z
      .record(z.string(), z.unknown())
      .refine((d) => typeof d.condition === 'string' || Array.isArray(d.condition), 'detection needs a condition')
      .refine(
        (d) => Object.keys(d).some((k) => k !== 'condition' && k !== 'timeframe'),
        'detection needs a search identifier',
      ),
  })
  .strict();
const sigmaCorrelationRule = z
  .object({
    ...sigmaCommon,
    correlation: z
      .object({
        type: z.enum(['event_count', 'value_count', 'temporal', 'temporal_ordered']),
        rules: z.array(z.string()).min(1),
        'group-by': z.array(z.string()).optional(),
        timespan: z.string().regex(/^\d+[smhdwMy]$/),
        condition: z
          .object({
            gt: z.number(),
            gte: z.number(),
            lt: z.number(),
            lte: z.number(),
            eq: z.number(),
            field: z.string(),
          })
          .partial()
          .optional(),
      })
      .strict(),
  })
  .strict();

describe('Sigma rules', () => {
  const dir = 'monitoring/siem/sigma';
  const files = readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.yml'));
  const docs = files.flatMap((f) =>
    parseAllDocuments(read(`${dir}/${f}`)).map((d) => ({ file: f, rule: d.toJS() as Record<string, unknown> })),
  );
  /** Every field any event line can carry (plus the stderr envelope of security events). */
  const eventFields = new Set([
    ...Object.values(EVENT_SCHEMAS).flatMap((s) => Object.keys(s.shape)),
    'ts',
    'level',
    'kind',
    'timestamp',
  ]);

  it('each document validates against the Sigma spec (detection or correlation rule)', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const { file, rule } of docs) {
      const schema = 'correlation' in rule ? sigmaCorrelationRule : sigmaDetectionRule;
      const r = schema.safeParse(rule);
      expect(r.success, `${file}: ${r.error?.message}`).toBe(true);
    }
    const ids = docs.map((d) => d.rule.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('conditions name their search identifiers; correlations name a rule of the same file', () => {
    for (const { file, rule } of docs) {
      if ('correlation' in rule) {
        const c = rule.correlation as { rules: string[] };
        const names = docs.filter((d) => d.file === file).map((d) => d.rule.name);
        for (const n of c.rules) expect(names, file).toContain(n);
        continue;
      }
      const detection = rule.detection as Record<string, unknown>;
      const ids = Object.keys(detection).filter((k) => k !== 'condition');
      const words = String(detection.condition).match(/[a-z_][a-z0-9_]*/g) ?? [];
      for (const w of words.filter((x) => !['and', 'or', 'not', 'of', 'all', 'them'].includes(x)))
        expect(ids, `${file}: ${w}`).toContain(w);
    }
  });

  it('use the field names of the stderr lines (docs/events.md)', () => {
    for (const { file, rule } of docs) {
      if (!('detection' in rule)) continue;
      for (const [k, v] of Object.entries(rule.detection as Record<string, unknown>)) {
        if (k === 'condition') continue;
        for (const field of Object.keys(v as object))
          expect(eventFields, `${file}: ${field}`).toContain(field.split('|')[0]);
      }
      for (const f of (rule.fields as string[] | undefined) ?? []) expect(eventFields, `${file}: ${f}`).toContain(f);
    }
  });
});
