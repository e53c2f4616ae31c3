/**
 * Per data stream, the Elastic integration package conventions: a `sample_event.json` and the
 * exported fields (`fields/ecs.yml` for ECS fields, `fields/fields.yml` for the kit's own, and
 * elk/data_streams/README.md with one "Exported fields" table per data stream), so a SIEM
 * engineer can see a document and its fields before installing anything.
 *
 * All of it is generated here from the golden corpus (test/pipelines/<scenario>-expected.json,
 * the documents the kit's pipelines make of real stderr lines, proven by
 * test/stack/pipelines.test.ts), the kit's mappings (types), ECS (@elastic/ecs, descriptions
 * of ECS fields) and the event model (src/telemetry/events.ts, descriptions of the kit's
 * fields), and compared with the files: any drift fails. After a deliberate change:
 *
 *   GENERATE_DATA_STREAM_DOCS=1 npx vitest run test/unit/elk-data-streams.test.ts
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EcsFlat } from '@elastic/ecs';
import { format, resolveConfig } from 'prettier';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadKit } from '../../src/setup/elasticsearch.js';
import { EVENT_SCHEMAS } from '../../src/telemetry/events.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GOLDEN = join(ROOT, 'test/pipelines');
const OUT = join(ROOT, 'elk/data_streams');
const GENERATE = process.env.GENERATE_DATA_STREAM_DOCS === '1';

/** The data streams and the golden line each one's sample_event.json is (scenario, 1-based line). */
const STREAMS: Record<string, { what: string; sample: [string, number] }> = {
  audit: {
    what: 'Policy decisions (`policy_decision`) and command executions (`audit`).',
    sample: ['allowed', 4],
  },
  security: {
    what: 'Security events (`security_event`, all nine types) and connections the network policy blocked (`error` lines `network_blocked`).',
    sample: ['security-bypass-attempt', 1],
  },
  operational: {
    what: 'Progress (`progress`), finished operations (`trace`), failures and warnings (`error`), configuration reloads (`config_reload`).',
    sample: ['error', 3],
  },
  failed: {
    what: 'Lines the pipelines could not read, each with the line and the reason.',
    sample: ['malformed', 7],
  },
};

/** Descriptions of the kit's own fields that are not one stderr field renamed. */
const DERIVED: Record<string, string> = {
  'mcp_ssh.event.type':
    'The stderr line type: policy_decision, audit, progress, security_event, trace, error, config_reload.',
  'mcp_ssh.command.status':
    'Outcome of a command: success, failure (non-zero exit), error (no exit status), timeout, cancelled; denied for a refused one (the ssh_commands_total label).',
  'mcp_ssh.violation_type':
    'What was violated (the ssh_policy_violations_total label): command_denied, network_blocked, or the security event type.',
  'mcp_ssh.extra': 'Fields of the line the kit does not map yet (stored, not indexed).',
  'mcp_ssh.progress.elapsed_ms': 'Milliseconds since the task started.',
  'mcp_ssh.config.issues.file': 'Configuration error: the file (servers.yml, credentials.yml, policy.yml).',
  'mcp_ssh.config.issues.line': 'Configuration error: the line in that file.',
  'mcp_ssh.config.issues.column': 'Configuration error: the column in that line.',
  'mcp_ssh.config.issues.path': 'Configuration error: the path of the key, e.g. hosts[0].port.',
  'mcp_ssh.config.issues.message': 'Configuration error: what is wrong and what was expected.',
};

type Doc = { _index: string; _source: Json };

function golden(): Map<string, Doc[]> {
  const out = new Map<string, Doc[]>();
  for (const f of readdirSync(GOLDEN)
    .filter((x) => x.endsWith('-expected.json'))
    .sort())
    out.set(
      f.replace(/-expected\.json$/, ''),
      (JSON.parse(readFileSync(join(GOLDEN, f), 'utf8')) as { expected: Doc[] }).expected,
    );
  return out;
}

/** Leaf paths with values (an array of scalars is a leaf; the objects of an array are walked). */
function leaves(doc: Json, prefix = ''): string[] {
  return Object.entries(doc).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    if (Array.isArray(v) && v.some((x) => x && typeof x === 'object'))
      return v.flatMap((x) => (x && typeof x === 'object' ? leaves(x as Json, path) : [path]));
    return v && typeof v === 'object' && !Array.isArray(v) ? leaves(v as Json, path) : [path];
  });
}

/** Field path → mapping type, from every component template of the kit (multi-fields left out). */
function mappingTypes(): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (props: Json, prefix: string): void => {
    for (const [k, v] of Object.entries(props)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (v.properties) {
        if (v.type) out.set(path, v.type as string);
        visit(v.properties as Json, path);
      } else out.set(path, (v.type as string | undefined) ?? 'object');
    }
  };
  const kit = loadKit(join(ROOT, 'elk'));
  for (const c of [...kit.componentTemplates, ...kit.customComponentTemplates])
    visit(((c.body.template as Json | undefined)?.mappings?.properties as Json | undefined) ?? {}, '');
  return out;
}

/** The mapped type of a leaf path: itself, or the nearest mapped object above it (e.g. mcp_ssh.extra.*). */
function typeOf(types: Map<string, string>, path: string): { field: string; type: string } | undefined {
  for (let p = path; p; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    const t = types.get(p);
    if (t) return { field: p, type: t };
  }
  return undefined;
}

/** ECS field → the stderr field it is renamed from, after the Sigma pipeline (the one raw→ECS table). */
function rawOf(): Map<string, string> {
  const pipeline = parse(readFileSync(join(ROOT, 'monitoring/siem/sigma/pipelines/mcp_ssh_ecs.yml'), 'utf8')) as {
    transformations: { id: string; mapping?: Record<string, string> }[];
  };
  const mapping = pipeline.transformations.find((t) => t.id === 'mcp_ssh_ecs_fields')?.mapping ?? {};
  const out = new Map<string, string>();
  for (const [raw, ecs] of Object.entries(mapping)) if (!out.has(ecs)) out.set(ecs, raw);
  out.set('mcp_ssh.config.issues', 'issues');
  return out;
}

/** Stderr field → its description in the event model (first event type that has it). */
function rawDescriptions(): Map<string, string> {
  const out = new Map<string, string>();
  for (const schema of Object.values(EVENT_SCHEMAS)) {
    const json = z.toJSONSchema(schema, { io: 'input' }) as { properties: Record<string, { description?: string }> };
    for (const [k, v] of Object.entries(json.properties)) if (v.description && !out.has(k)) out.set(k, v.description);
  }
  return out;
}

interface Field {
  name: string;
  type: string;
  description: string;
  ecs: boolean;
}

/** Everything generated, path (relative to elk/data_streams) → content. */
function generate(): { files: Map<string, string>; fields: Map<string, Field[]>; problems: string[] } {
  const corpus = golden();
  const types = mappingTypes();
  const raw = rawOf();
  const rawDesc = rawDescriptions();
  const ecs = EcsFlat as Record<string, { short?: string; description?: string; type: string }>;
  const files = new Map<string, string>();
  const fieldsByStream = new Map<string, Field[]>();
  const problems: string[] = [];
  const readme: string[] = [
    '# Data streams of the Elasticsearch kit',
    '',
    '<!-- Generated by test/unit/elk-data-streams.test.ts from the golden corpus (test/pipelines); do not edit by hand. -->',
    '',
    'One section per data stream, in the habit of Elastic integration packages: what it holds, an',
    'example document (also in `<data stream>/sample_event.json`), and the fields its documents carry',
    'in the golden corpus, with the type the kit maps them to (`<data stream>/fields/ecs.yml` for the',
    'ECS fields, `<data stream>/fields/fields.yml` for the kit’s own). Mapping of each stderr field:',
    '[docs/elasticsearch.md](../../docs/elasticsearch.md).',
    '',
  ];
  for (const [stream, spec] of Object.entries(STREAMS)) {
    const index = `logs-mcp_ssh.${stream}-default`;
    const docs = [...corpus.values()].flat().filter((d) => d._index === index);
    if (docs.length === 0) problems.push(`${stream}: no golden document`);
    const names = [...new Set(docs.flatMap((d) => leaves(d._source)))].sort();
    const fields: Field[] = [];
    const seen = new Set<string>();
    for (const leaf of names) {
      const mapped = typeOf(types, leaf);
      if (!mapped) {
        problems.push(`${stream}: ${leaf} is in the documents but not in the kit mappings`);
        continue;
      }
      if (seen.has(mapped.field)) continue;
      seen.add(mapped.field);
      const def = ecs[mapped.field];
      const rawField = raw.get(mapped.field);
      const description = def
        ? (def.short ?? def.description ?? '')
        : (DERIVED[mapped.field] ?? (rawField ? rawDesc.get(rawField) : undefined) ?? '');
      if (!description) problems.push(`${stream}: ${mapped.field} has no description`);
      fields.push({ name: mapped.field, type: mapped.type, description, ecs: Boolean(def) });
    }
    fieldsByStream.set(stream, fields);

    const [scenario, line] = spec.sample;
    const sampleDoc = corpus.get(scenario)?.[line - 1];
    if (!sampleDoc || sampleDoc._index !== index) {
      problems.push(`${stream}: ${scenario} line ${line} is not a document of ${index}`);
      continue;
    }
    const sample = structuredClone(sampleDoc._source);
    // Masked in the golden files: an ingest time. A plausible one, fixed so the file is stable.
    const base = Date.parse(String(sample['@timestamp'])) || Date.parse(String(sample.event?.created));
    const when = new Date((Number.isNaN(base) ? Date.parse('2026-11-22T00:00:00Z') : base) + 1000).toISOString();
    if (sample['@timestamp'] === '<ingest time>' || !/^\d{4}-/.test(String(sample['@timestamp'])))
      sample['@timestamp'] = when;
    if (sample.event?.ingested !== undefined) sample.event.ingested = when;
    const sampleJson = JSON.stringify(sample, null, 2) + '\n';
    files.set(`${stream}/sample_event.json`, sampleJson);
    const ecsYml = fields.filter((f) => f.ecs).map((f) => ({ external: 'ecs', name: f.name }));
    const ownYml = fields
      .filter((f) => !f.ecs)
      .map((f) => ({ name: f.name, type: f.type, description: f.description }));
    const header = `# Generated by test/unit/elk-data-streams.test.ts from the golden corpus; do not edit by hand.\n`;
    files.set(`${stream}/fields/ecs.yml`, header + stringify(ecsYml, { lineWidth: 0 }));
    files.set(`${stream}/fields/fields.yml`, header + stringify(ownYml, { lineWidth: 0 }));
    readme.push(
      `## \`logs-mcp_ssh.${stream}-<namespace>\``,
      '',
      spec.what,
      '',
      `An example event (\`${stream}/sample_event.json\`; golden line ${line} of test/pipelines/${scenario}.log):`,
      '',
      '```json',
      sampleJson.trimEnd(),
      '```',
      '',
      '**Exported fields**',
      '',
      '| Field | Description | Type |',
      '|---|---|---|',
      ...fields.map(
        (f) => `| ${f.name} | ${f.description.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|')} | ${f.type} |`,
      ),
      '',
    );
  }
  files.set('README.md', readme.join('\n'));
  return { files, fields: fieldsByStream, problems };
}

/** As `prettier --write` would leave it (npm run format:check covers elk/ too). */
async function pretty(files: Map<string, string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [rel, text] of files) {
    const filepath = join(OUT, rel);
    out.set(rel, await format(text, { ...(await resolveConfig(filepath)), filepath }));
  }
  return out;
}

describe('data streams: sample events and field documentation, Elastic package style', async () => {
  const generated = generate();
  const { fields, problems } = generated;
  const files = await pretty(generated.files);

  it('every field of every golden document is mapped by the kit and described', () => {
    expect(problems).toEqual([]);
  });

  it('the files under elk/data_streams are what the golden corpus gives', () => {
    if (GENERATE) {
      for (const [rel, text] of files) {
        mkdirSync(dirname(join(OUT, rel)), { recursive: true });
        writeFileSync(join(OUT, rel), text);
      }
    }
    for (const [rel, text] of files) {
      const path = join(OUT, rel);
      expect(
        existsSync(path),
        `${path} missing: GENERATE_DATA_STREAM_DOCS=1 npx vitest run ${'test/unit/elk-data-streams.test.ts'}`,
      ).toBe(true);
      expect(
        readFileSync(path, 'utf8'),
        `${rel} is stale: regenerate (see the top of this test) and review the diff`,
      ).toBe(text);
    }
    // Nothing else lies there that nobody keeps true.
    const onDisk = readdirSync(OUT, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(OUT.length + 1))
      .sort();
    expect(onDisk).toEqual([...files.keys()].sort());
  });

  it('each sample event is a golden document of its data stream, and its fields are all documented', () => {
    for (const stream of Object.keys(STREAMS)) {
      const sample = JSON.parse(files.get(`${stream}/sample_event.json`) as string) as Json;
      expect(sample.data_stream?.dataset).toBe(`mcp_ssh.${stream}`);
      const documented = new Set((fields.get(stream) ?? []).map((f) => f.name));
      for (const leaf of leaves(sample)) {
        const hit = [...documented].some((f) => leaf === f || leaf.startsWith(`${f}.`));
        expect(hit, `${stream}: ${leaf}`).toBe(true);
      }
    }
  });

  it('ECS fields carry their ECS type; the kit’s own fields are under mcp_ssh', () => {
    const ecs = EcsFlat as Record<string, { type: string }>;
    for (const [stream, list] of fields) {
      for (const f of list) {
        if (f.ecs) expect(f.type, `${stream}: ${f.name}`).toBe(ecs[f.name]?.type);
        else expect(f.name, stream).toMatch(/^mcp_ssh\./);
      }
    }
  });
});
