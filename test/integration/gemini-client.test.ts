/**
 * The server's tools as Google's own Gemini SDK (@google/genai) hands them to the model, and a
 * tool call made through it. `mcpToTool(client)` is how that SDK takes an MCP server: it lists
 * the tools through the official MCP client, sends them as function declarations, and runs the
 * calls the model asks for (automatic function calling).
 *
 * The Gemini API itself cannot run here (no internet), so a stand-in on 127.0.0.1 plays the
 * model: it records every generateContent request the SDK sends and answers the first with a
 * function call. Everything else — the SDK, its schema conversion, the MCP client, the server,
 * sshd — is real. What the API accepts is checked against Gemini's documented constraints:
 * function names, and the schema keywords of each of its two declaration fields.
 */
import { GoogleGenAI, mcpToTool, type FunctionDeclaration } from '@google/genai';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { startSession, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

type Schema = Record<string, unknown>;

/** Gemini's function-name rule: letters, digits, underscores, colons, dots, dashes; at most 64. */
const GEMINI_FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

/**
 * Keywords of the JSON Schema subset Gemini documents for `parametersJsonSchema` (the field
 * mcpToTool fills), plus the annotations it ignores harmlessly.
 */
const GEMINI_JSON_SCHEMA_KEYWORDS = new Set([
  '$id',
  '$defs',
  '$ref',
  '$anchor',
  'type',
  'format',
  'title',
  'description',
  'enum',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'anyOf',
  'oneOf',
  'properties',
  'additionalProperties',
  'required',
  'propertyOrdering',
]);

/** Fields of Gemini's `Schema` object (the OpenAPI-3.0 subset of the `parameters` field). */
const GEMINI_SCHEMA_FIELDS = new Set([
  'type',
  'format',
  'title',
  'description',
  'nullable',
  'enum',
  'maxItems',
  'minItems',
  'properties',
  'required',
  'minProperties',
  'maxProperties',
  'minLength',
  'maxLength',
  'pattern',
  'example',
  'anyOf',
  'propertyOrdering',
  'default',
  'items',
  'minimum',
  'maximum',
]);
const GEMINI_TYPES = new Set(['STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT']);

/**
 * Keywords outside Gemini's JSON Schema list that may stay, since the description says them too
 * (the API may ignore them; the model still reads the constraint, and the server enforces it).
 */
const SAID_IN_WORDS: Record<string, (value: unknown) => string> = {
  pattern: (value) => `\`${String(value)}\``,
};

/** Every keyword outside `allowed` (and not said in words), and every bad `type`, by JSON path. */
function keywordProblems(schema: Schema, allowed: Set<string>, types: (t: unknown) => boolean, at = '$'): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(schema)) {
    if (allowed.has(key)) continue;
    const said = SAID_IN_WORDS[key];
    const description = typeof schema.description === 'string' ? schema.description : '';
    if (said && description.includes(said(schema[key]))) continue;
    problems.push(`${at}: keyword ${key}`);
  }
  if ('type' in schema && !types(schema.type)) problems.push(`${at}: type ${JSON.stringify(schema.type)}`);
  for (const [name, p] of Object.entries((schema.properties as Record<string, Schema> | undefined) ?? {}))
    problems.push(...keywordProblems(p, allowed, types, `${at}.${name}`));
  if (schema.items && typeof schema.items === 'object')
    problems.push(...keywordProblems(schema.items as Schema, allowed, types, `${at}[]`));
  for (const [i, s] of ((schema.anyOf as Schema[] | undefined) ?? []).entries())
    problems.push(...keywordProblems(s, allowed, types, `${at}|${i}`));
  return problems;
}

const JSON_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);
const jsonType = (t: unknown): boolean =>
  Array.isArray(t) ? t.length > 0 && t.every((x) => JSON_TYPES.has(x as string)) : JSON_TYPES.has(t as string);

interface Recorded {
  path: string;
  body: {
    contents: { role?: string; parts: Record<string, unknown>[] }[];
    tools?: { functionDeclarations?: FunctionDeclaration[] }[];
  };
}

/** The model's stand-in: records requests; answers each with the next scripted reply. */
async function startStandInModel(replies: ((req: Recorded) => unknown)[]): Promise<{
  server: Server;
  baseUrl: string;
  requests: Recorded[];
}> {
  const requests: Recorded[] = [];
  const readBody = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const recorded: Recorded = { path: req.url ?? '', body: JSON.parse(text) as Recorded['body'] };
      requests.push(recorded);
      const reply = replies[Math.min(requests.length - 1, replies.length - 1)]!(recorded);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, baseUrl: `http://127.0.0.1:${port}`, requests };
}

const modelSays = (parts: Record<string, unknown>[]): unknown => ({
  candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
  usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 },
});

describe('the tools through the Gemini SDK (mcpToTool)', () => {
  let sshd: TestSshd;
  let fleet: Fleet;
  let s: McpSession;
  let tools: { name: string; inputSchema: Schema }[];
  let model: Awaited<ReturnType<typeof startStandInModel>>;
  let answer: string | undefined;

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = makeFleet([sshd], [{ alias: 'web1', sshd, tags: ['web'] }]);
    s = await startSession(fleet.configDir);
    tools = (await s.client.listTools()).tools as typeof tools;
    model = await startStandInModel([
      () => modelSays([{ functionCall: { name: 'ssh_list_hosts', args: { tag: null } } }]),
      () => modelSays([{ text: 'one host: web1' }]),
    ]);
    const ai = new GoogleGenAI({ apiKey: 'not-a-key', httpOptions: { baseUrl: model.baseUrl } });
    const response = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Which hosts are there?',
      config: { tools: [mcpToTool(s.client)] },
    });
    answer = response.text;
  });
  afterAll(async () => {
    await new Promise((resolve) => model?.server.close(resolve));
    await s?.close();
    await sshd?.stop();
  });

  it('declares every tool, its input schema passed on unchanged as parametersJsonSchema', () => {
    const first = model.requests[0]!;
    expect(first.path).toMatch(/models\/gemini-2\.5-flash:generateContent$/);
    const declared = first.body.tools!.flatMap((t) => t.functionDeclarations ?? []);
    expect(declared.map((d) => d.name).sort()).toEqual(tools.map((t) => t.name).sort());
    for (const d of declared) {
      const tool = tools.find((t) => t.name === d.name)!;
      expect(d.parametersJsonSchema, d.name).toEqual(tool.inputSchema);
      expect(d.parameters, d.name).toBeUndefined();
    }
  });

  it("fits Gemini's documented constraints: function names, parametersJsonSchema keywords and types", () => {
    for (const t of tools) {
      expect(t.name).toMatch(GEMINI_FUNCTION_NAME);
      expect(t.inputSchema.type, t.name).toBe('object');
      expect(keywordProblems(t.inputSchema, GEMINI_JSON_SCHEMA_KEYWORDS, jsonType), t.name).toEqual([]);
    }
  });

  it("runs the model's call on the server and hands the model the result", () => {
    expect(model.requests).toHaveLength(2);
    const parts = model.requests[1]!.body.contents.flatMap((c) => c.parts);
    const response = parts.find((p) => 'functionResponse' in p)?.functionResponse as
      { name: string; response: Record<string, unknown> } | undefined;
    expect(response?.name).toBe('ssh_list_hosts');
    // A null argument is "not given": every host of the fleet, as the server reports it.
    expect(JSON.stringify(response?.response)).toContain('"web1"');
    expect(answer).toBe('one host: web1');
  });

  // A client that fills Gemini's older `parameters` field (an OpenAPI-3.0 Schema) has the SDK
  // convert the JSON Schema. Nothing may be lost: optional stays optional (nullable), required
  // stays required, descriptions, enums and bounds stay as they are.
  it("converts losslessly into the `parameters` field's Schema object", async () => {
    const ai = new GoogleGenAI({ apiKey: 'not-a-key', httpOptions: { baseUrl: model.baseUrl } });
    const before = model.requests.length;
    await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'nothing to do',
      config: {
        tools: [
          {
            functionDeclarations: tools.map((t) => ({
              name: t.name,
              parameters: structuredClone(t.inputSchema) as FunctionDeclaration['parameters'],
            })),
          },
        ],
      },
    });
    const sent = model.requests[before]!.body.tools!.flatMap((t) => t.functionDeclarations ?? []);
    expect(sent).toHaveLength(tools.length);
    const geminiType = (t: unknown): boolean => GEMINI_TYPES.has(t as string);
    for (const d of sent) {
      const original = tools.find((t) => t.name === d.name)!.inputSchema;
      const converted = d.parameters as unknown as Schema;
      expect(keywordProblems(converted, GEMINI_SCHEMA_FIELDS, geminiType), d.name).toEqual([]);
      expect(converted.type).toBe('OBJECT');
      expect(converted.required ?? [], d.name).toEqual(original.required ?? []);
      const props = (original.properties ?? {}) as Record<string, Schema>;
      const convertedProps = (converted.properties ?? {}) as Record<string, Schema>;
      expect(Object.keys(convertedProps)).toEqual(Object.keys(props));
      for (const [name, p] of Object.entries(props)) {
        const c = convertedProps[name]!;
        const where = `${d.name}.${name}`;
        const types = Array.isArray(p.type) ? (p.type as string[]) : [p.type as string];
        expect(c.nullable === true, `${where} nullable`).toBe(types.includes('null'));
        expect(c.type, where).toBe(types.find((t) => t !== 'null')!.toUpperCase());
        for (const k of ['description', 'enum', 'minimum', 'maximum', 'minItems', 'maxItems'])
          expect(c[k], `${where} ${k}`).toEqual(p[k]);
      }
    }
  });
});
