/**
 * The Elasticsearch and Kibana kit (elk/), checked without an engine:
 *  - every ECS field of the mappings has exactly the ECS definition (@elastic/ecs 8.11);
 *    everything else lives under mcp_ssh.*; every field the pipelines write is mapped;
 *  - templates, pipelines and ILM policies type-check against the Elasticsearch API
 *    specification types of @elastic/elasticsearch (object literals: unknown keys fail);
 *  - the ILM phase ages are the retention table of the observability guide;
 *  - the Kibana saved objects are consistent (every indexRefName / panelRefName / Lens layer has
 *    its reference, every referenced object exists with that type) and cover the list.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { EcsFlat } from '@elastic/ecs';
import { describe, expect, it } from 'vitest';
import { keepOriginal, loadKit, withoutLifecycle } from '../../src/setup/elasticsearch.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const kit = loadKit(join(ROOT, 'elk'));
const ecs = EcsFlat as Record<string, Json>;

/** Leaf fields of a mapping: path → mapping (object fields with `properties` are walked). */
function leaves(props: Json, prefix = ''): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const [k, v] of Object.entries(props)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v.properties && !v.type) for (const [p, m] of leaves(v.properties as Json, path)) out.set(p, m);
    else out.set(path, v as Json);
  }
  return out;
}

const mappings = (kit.componentTemplates.find((c) => c.name === 'logs-mcp_ssh@mappings')?.body as Json).template
  .mappings as Json;
const mapped = leaves(mappings.properties as Json);

describe('ECS mappings', () => {
  it('every ECS field has exactly the ECS type, ignore_above, index/doc_values and multi-fields', () => {
    const ecsFields = [...mapped.keys()].filter((p) => ecs[p]);
    expect(ecsFields.length).toBeGreaterThan(30);
    for (const path of ecsFields) {
      const d = ecs[path] as Json;
      const m = mapped.get(path) as Json;
      expect(m.type, path).toBe(d.type);
      expect(m.ignore_above, path).toBe(d.ignore_above);
      expect(m.index, path).toBe(d.index === false ? false : undefined);
      expect(m.doc_values, path).toBe(d.doc_values === false ? false : undefined);
      const multi = Object.fromEntries(
        ((d.multi_fields as Json[] | undefined) ?? []).map((f) => [f.name, { type: f.type }]),
      );
      expect(m.fields ?? {}, path).toEqual(multi);
    }
  });

  it('fields ECS has no place for live under mcp_ssh.*', () => {
    const outside = [...mapped.keys()].filter((p) => !ecs[p] && !p.startsWith('mcp_ssh.'));
    expect(outside).toEqual([]);
    // ECS reserves no mcp_ssh namespace (a custom field set must not shadow an ECS one).
    expect(Object.keys(ecs).filter((f) => f.startsWith('mcp_ssh'))).toEqual([]);
  });

  it('every field in the golden ECS documents is mapped (no dynamic guesswork)', () => {
    const dir = join(ROOT, 'test/pipelines');
    const files = readdirSync(dir).filter((f) => f.endsWith('-expected.json'));
    expect(files.length).toBeGreaterThan(15);
    const docLeaves = (doc: Json, prefix = ''): string[] =>
      Object.entries(doc).flatMap(([k, v]) => {
        const path = prefix ? `${prefix}.${k}` : k;
        if (path === 'mcp_ssh.extra' || path === 'mcp_ssh.config.issues') return [path];
        return v && typeof v === 'object' && !Array.isArray(v) ? docLeaves(v as Json, path) : [path];
      });
    const unmapped = new Set<string>();
    for (const f of files) {
      for (const { _source } of (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { expected: { _source: Json }[] })
        .expected) {
        for (const p of docLeaves(_source)) {
          const objectMapping = p === 'mcp_ssh.extra' || p === 'mcp_ssh.config.issues';
          if (!mapped.has(p) && !objectMapping) unmapped.add(p);
        }
      }
    }
    expect([...unmapped]).toEqual([]);
  });

  it('the pipelines only write ECS categorisation values ECS allows', () => {
    const text = kit.pipelines.map((p) => JSON.stringify(p.body)).join('\n');
    const allowed = (f: string): string[] => ((ecs[f]?.allowed_values as Json[]) ?? []).map((v) => v.name as string);
    for (const m of text.matchAll(/"field":"event\.(kind|outcome)","value":"([a-z_]+)"/g))
      expect(allowed(`event.${m[1]}`), m[0]).toContain(m[2]);
    for (const m of text.matchAll(/"field":"event\.(category|type)","value":\["([a-z_]+)"\]/g))
      expect(allowed(`event.${m[1]}`), m[0]).toContain(m[2]);
  });
});

/** Type-checks `const x: T = <json>` with the TypeScript compiler: object literals, so unknown keys are errors. */
function typecheck(cases: { type: string; name: string; value: unknown }[]): string[] {
  const file = join(ROOT, 'test/unit/__elk_spec_check__.ts');
  const source = [
    "import type { estypes } from '@elastic/elasticsearch';",
    ...cases.map((c, i) => `// ${c.name}\nexport const v${i}: ${c.type} = ${JSON.stringify(c.value, null, 1)};`),
  ].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  host.readFile = (f) => (resolve(f) === file ? source : readFile(f));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => resolve(f) === file || fileExists(f);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang) =>
    resolve(f) === file ? ts.createSourceFile(f, source, lang) : getSourceFile(f, lang);
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && resolve(d.file.fileName) === file)
    .map((d) => {
      const { line } = d.file?.getLineAndCharacterOfPosition(d.start ?? 0) ?? { line: 0 };
      const name = source
        .split('\n')
        .slice(0, line)
        .reverse()
        .find((l) => l.startsWith('// '));
      return `${name ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
}

describe('the kit against the Elasticsearch API specification types (@elastic/elasticsearch)', () => {
  it('ILM policies, component and index templates and ingest pipelines type-check', () => {
    const strip = (b: Json, ...keys: string[]): Json => {
      const c = { ...b };
      for (const k of keys) delete c[k];
      return c;
    };
    const errors = typecheck([
      ...kit.ilmPolicies.map((p) => ({ type: 'estypes.IlmPolicy', name: p.name, value: p.body.policy })),
      ...[...kit.componentTemplates, ...kit.customComponentTemplates].map((c) => ({
        type: "Omit<estypes.ClusterPutComponentTemplateRequest, 'name'>",
        name: c.name,
        value: c.body,
      })),
      ...kit.indexTemplates.map((t) => ({
        type: "Omit<estypes.IndicesPutIndexTemplateRequest, 'name'>",
        name: t.name,
        value: t.body,
      })),
      ...kit.pipelines.map((p) => ({ type: 'estypes.IngestPipeline', name: p.name, value: strip(p.body) })),
    ]);
    expect(errors).toEqual([]);
  }, 60_000);

  it('the check bites: a misspelt key or a wrong type is an error', () => {
    const errors = typecheck([
      { type: 'estypes.IlmPolicy', name: 'typo', value: { phases: { hot: { min_agee: '1d', actions: {} } } } },
      { type: 'estypes.IngestPipeline', name: 'bad', value: { processors: [{ rerout: { dataset: 'x' } }] } },
    ]);
    expect(errors.length).toBe(2);
  }, 60_000);
});

describe('ILM: the retention table of the observability guide', () => {
  // Seed 000, "Retention Policy": audit hot 30 days, warm until 90 days, cold until 1 year,
  // deleted after 7 years; security hot 90 days, warm until 1 year, cold until 7 years, never
  // deleted; operational hot 7 days, warm until 30 days, cold until 90 days, deleted after 1 year.
  // ILM has no "y" unit: a year is 365 days.
  const TABLE = {
    audit: { warm: '30d', cold: '90d', delete: '2555d' },
    security: { warm: '90d', cold: '365d', delete: undefined },
    operational: { warm: '7d', cold: '30d', delete: '365d' },
  };
  const days = (d: string): number => {
    const m = /^(\d+)d$/.exec(d);
    if (!m) throw new Error(`not in days: ${d}`);
    return Number(m[1]);
  };
  for (const [category, ages] of Object.entries(TABLE)) {
    it(`${category}: phases start at the table's ages; rollover in hot; warm and cold read-only`, () => {
      const policy = kit.ilmPolicies.find((p) => p.name === `logs-mcp_ssh.${category}`)?.body.policy as Json;
      expect(policy, category).toBeDefined();
      const phases = policy.phases as Json;
      expect(phases.hot.min_age).toBe('0ms');
      expect(phases.hot.actions.rollover.max_primary_shard_size).toBe('50gb');
      // Rollover at least as often as the hot phase lasts, so the hot boundary means something.
      expect(days(phases.hot.actions.rollover.max_age)).toBeLessThanOrEqual(days(ages.warm));
      expect(phases.warm.min_age).toBe(ages.warm);
      expect(phases.cold.min_age).toBe(ages.cold);
      expect(phases.warm.actions).toHaveProperty('readonly');
      expect(phases.warm.actions.forcemerge).toEqual({ max_num_segments: 1 });
      expect(phases.cold.actions).toHaveProperty('readonly');
      // A basic licence has no searchable snapshots: no frozen phase, no searchable_snapshot.
      expect(phases.frozen).toBeUndefined();
      expect(JSON.stringify(policy)).not.toContain('searchable_snapshot');
      if (ages.delete) expect(phases.delete).toEqual({ min_age: ages.delete, actions: { delete: {} } });
      else expect(phases.delete).toBeUndefined();
      expect(days(phases.warm.min_age)).toBeLessThan(days(phases.cold.min_age));
    });
  }

  it('each category data stream uses its own policy; failures are kept like audit data', () => {
    const lifecycle = (name: string): unknown =>
      (kit.indexTemplates.find((t) => t.name === name)?.body as Json | undefined)?.template?.settings?.index?.lifecycle
        ?.name;
    for (const c of ['audit', 'security', 'operational'])
      expect(lifecycle(`logs-mcp_ssh.${c}`)).toBe(`logs-mcp_ssh.${c}`);
    expect(lifecycle('logs-mcp_ssh.failed')).toBe('logs-mcp_ssh.audit');
  });
});

describe('index templates', () => {
  it('data streams for the three categories, priority above the built-in logs template, @custom hooks', () => {
    for (const c of ['audit', 'security', 'operational']) {
      const t = kit.indexTemplates.find((x) => x.name === `logs-mcp_ssh.${c}`)?.body as Json;
      expect(t.index_patterns).toEqual([`logs-mcp_ssh.${c}-*`]);
      expect(t.data_stream).toEqual({});
      expect(t.priority).toBeGreaterThan(100);
      expect(t.composed_of).toEqual([
        'logs-mcp_ssh@settings',
        'logs-mcp_ssh@mappings',
        'logs-mcp_ssh@custom',
        `logs-mcp_ssh.${c}@custom`,
      ]);
      for (const name of t.composed_of as string[])
        expect([...kit.componentTemplates, ...kit.customComponentTemplates].map((x) => x.name)).toContain(name);
    }
  });

  it('withoutLifecycle and keepOriginal change only what they say', () => {
    const noIlm = withoutLifecycle(kit);
    expect(noIlm.ilmPolicies).toEqual([]);
    expect(JSON.stringify(noIlm.indexTemplates)).not.toContain('lifecycle');
    expect(noIlm.pipelines).toEqual(kit.pipelines);
    const kept = keepOriginal(kit);
    const tags = (k: typeof kit): string[] =>
      k.pipelines.flatMap((p) => (p.body.processors as Json[]).map((x) => Object.values(x)[0].tag as string));
    expect(tags(kit).filter((t) => !tags(kept).includes(t))).toEqual(['remove_event_original']);
  });
});

describe('Kibana saved objects (elk/kibana/mcp_ssh.ndjson)', () => {
  const objects = readFileSync(join(ROOT, 'elk/kibana/mcp_ssh.ndjson'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Json);
  const byId = new Map(objects.map((o) => [`${o.type}:${o.id}`, o]));

  it('references are consistent: every ref name is used, every used name has a ref, every target exists', () => {
    expect(new Set(objects.map((o) => o.id)).size).toBe(objects.length);
    for (const o of objects) {
      const refNames = (o.references as Json[]).map((r) => r.name as string);
      const used: string[] = [];
      if (o.attributes.kibanaSavedObjectMeta?.searchSourceJSON) {
        const source = JSON.parse(o.attributes.kibanaSavedObjectMeta.searchSourceJSON) as Json;
        if (source.indexRefName) used.push(source.indexRefName as string);
        for (const f of (source.filter as Json[]) ?? []) if (f.meta?.indexRefName) used.push(f.meta.indexRefName);
      }
      if (o.type === 'lens') {
        for (const layerId of Object.keys(o.attributes.state.datasourceStates.formBased.layers as Json))
          used.push(`indexpattern-datasource-layer-${layerId}`);
      }
      if (o.type === 'dashboard') {
        for (const p of JSON.parse(o.attributes.panelsJSON) as Json[]) used.push(`${p.panelIndex}:${p.panelRefName}`);
      }
      expect(refNames.sort(), `${o.type} ${o.id}`).toEqual([...new Set(used)].sort());
      for (const r of o.references as Json[]) {
        expect(byId.has(`${r.type}:${r.id}`), `${o.id} → ${r.type}:${r.id}`).toBe(true);
      }
    }
  });

  it('Lens columns name only mapped fields of the right kind, and columnOrder lists every column', () => {
    for (const o of objects.filter((x) => x.type === 'lens')) {
      for (const layer of Object.values(o.attributes.state.datasourceStates.formBased.layers as Json)) {
        expect(Object.keys(layer.columns).sort()).toEqual([...layer.columnOrder].sort());
        for (const c of Object.values(layer.columns as Json)) {
          for (const field of [c.sourceField, ...(c.params?.secondaryFields ?? [])]) {
            if (field === '___records___') continue;
            expect(mapped.has(field), `${o.id}: ${field}`).toBe(true);
          }
        }
      }
    }
  });

  it('data views per data stream and one for all; the saved searches and panels the issue lists', () => {
    const titles = (type: string): string[] => objects.filter((o) => o.type === type).map((o) => o.attributes.title);
    expect(titles('index-pattern')).toEqual(
      expect.arrayContaining([
        'logs-mcp_ssh.audit-*',
        'logs-mcp_ssh.security-*',
        'logs-mcp_ssh.operational-*',
        'logs-mcp_ssh.audit-*,logs-mcp_ssh.security-*,logs-mcp_ssh.operational-*',
      ]),
    );
    expect(titles('search')).toEqual([
      'mcp_ssh: all command executions',
      'mcp_ssh: denied commands',
      'mcp_ssh: failed commands (non-zero exit)',
      'mcp_ssh: timeouts and cancellations',
      'mcp_ssh: all security events',
      'mcp_ssh: path traversal attempts',
      'mcp_ssh: command bypass attempts',
      'mcp_ssh: authentication failures',
      "mcp_ssh: one host's complete trail (edit host.name)",
    ]);
    for (const o of objects) {
      expect(o.coreMigrationVersion, o.id).toMatch(/^8\./);
      expect(o.typeMigrationVersion, o.id).toMatch(/^8\./);
    }
  });
});
