/**
 * The tool schemas the built server publishes, as the strict validators of major clients read
 * them: Ajv's 2020-12 strict mode compiles every input and output schema; every input schema
 * fits OpenAI's strict subset (no $schema, every object closed, every property required, only
 * supported keywords); and what was optional still is — a null argument means "not given".
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { startSession, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

/** Keywords OpenAI's strict mode supports (its structured-outputs documentation), plus annotations. */
const OPENAI_STRICT_KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'anyOf',
  'description',
  'title',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
]);

type Schema = Record<string, unknown>;

/** Every problem OpenAI's strict mode would have with `schema`, by JSON path. */
function openAiStrictProblems(schema: Schema, at = '$'): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(schema)) if (!OPENAI_STRICT_KEYWORDS.has(key)) problems.push(`${at}: keyword ${key}`);
  const props = schema.properties as Record<string, Schema> | undefined;
  if (schema.type === 'object' || props) {
    if (schema.additionalProperties !== false) problems.push(`${at}: additionalProperties is not false`);
    const required = new Set((schema.required as string[] | undefined) ?? []);
    for (const name of Object.keys(props ?? {})) if (!required.has(name)) problems.push(`${at}.${name}: not required`);
    for (const [name, p] of Object.entries(props ?? {})) problems.push(...openAiStrictProblems(p, `${at}.${name}`));
  }
  if (schema.items && typeof schema.items === 'object')
    problems.push(...openAiStrictProblems(schema.items as Schema, `${at}[]`));
  for (const [i, s] of ((schema.anyOf as Schema[] | undefined) ?? []).entries())
    problems.push(...openAiStrictProblems(s, `${at}|${i}`));
  return problems;
}

describe('tool schemas under strict validators', () => {
  let sshd: TestSshd;
  let fleet: Fleet;
  let s: McpSession;
  let tools: { name: string; inputSchema: Schema; outputSchema?: Schema }[];

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = makeFleet([sshd], [{ alias: 'web1', sshd, tags: ['web'] }]);
    s = await startSession(fleet.configDir);
    tools = (await s.client.listTools()).tools as typeof tools;
  });
  afterAll(async () => {
    await s?.close();
    await sshd?.stop();
  });

  it('Ajv 2020-12 in strict mode compiles every input and output schema', () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    for (const t of tools) {
      expect(() => ajv.compile(t.inputSchema), `${t.name} input`).not.toThrow();
      if (t.outputSchema) expect(() => ajv.compile(t.outputSchema!), `${t.name} output`).not.toThrow();
    }
  });

  it('every input schema fits OpenAI strict mode: no $schema, closed objects, all required, supported keywords', () => {
    for (const t of tools) expect(openAiStrictProblems(t.inputSchema), t.name).toEqual([]);
  });

  it('nothing is lost: optional arguments are nullable, defaults and lengths are in the description', () => {
    const listHosts = tools.find((t) => t.name === 'ssh_list_hosts')!.inputSchema;
    expect(listHosts.properties).toMatchObject({
      tag: { type: ['string', 'null'], description: expect.stringContaining('1 to 100 characters') },
    });
    const output = tools.find((t) => t.name === 'ssh_get_task_output')!.inputSchema;
    expect(output.properties).toMatchObject({
      task_id: { type: 'string' },
      max_lines: { type: ['integer', 'null'], description: expect.stringContaining('Default: 500.'), maximum: 5000 },
    });
  });

  it('a null argument means "not given": ssh_list_hosts with tag null lists every host', async () => {
    const all = await s.call('ssh_list_hosts', { tag: null });
    expect(all.isError ?? false).toBe(false);
    expect(all.structuredContent).toEqual((await s.call('ssh_list_hosts')).structuredContent);
    // A required argument given as null is still refused, by name.
    const bad = await s.call('ssh_describe_host', { alias: null });
    expect(bad.isError).toBe(true);
  });
});
