/**
 * Tool input schemas that the strictest clients accept, without losing what they say.
 *
 * - No `$schema`: the draft-07 one the SDK adds is refused by Ajv's 2020-12 strict mode and has
 *   no place in Gemini's `parameters` Schema; MCP's default dialect is 2020-12 anyway.
 * - OpenAI's strict mode wants every property in `required` and `additionalProperties: false`
 *   on every object: an optional argument is published as required and nullable, and the
 *   server reads `null` as "not given" (so `tag: null` lists every host, as leaving it out does).
 * - `default`, `minLength` and `maxLength` are not in OpenAI's strict subset: they move into the
 *   description ("Default: 500.", "1 to 100 characters."); the server still enforces them.
 * - `pattern` stays (OpenAI's strict mode and Gemini's `parameters` Schema take it) and is said
 *   in the description as well, since Gemini's JSON Schema field (`parametersJsonSchema`, where
 *   its SDK's mcpToTool puts MCP schemas) does not document it and may ignore it.
 *
 * The zod schemas the tools validate with stay as they are: this rewrites what tools/list
 * publishes, and drops null arguments before a tools/call reaches the tool.
 */
import type { McpServer } from '@modelcontextprotocol/server';

type JsonSchema = Record<string, unknown>;

function isObject(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The schema with `null` allowed besides what it allowed before. */
function nullable(schema: JsonSchema): JsonSchema {
  const { type } = schema;
  if (typeof type === 'string') return type === 'null' ? schema : { ...schema, type: [type, 'null'] };
  if (Array.isArray(type)) return type.includes('null') ? schema : { ...schema, type: [...type, 'null'] };
  return { anyOf: [schema, { type: 'null' }] };
}

/** `default`, string lengths and the pattern said in words, where strict validators accept them. */
function inWords(schema: JsonSchema): JsonSchema {
  const { default: value, minLength, maxLength, ...rest } = schema;
  const said: string[] = [];
  if (typeof minLength === 'number' || typeof maxLength === 'number') {
    said.push(
      typeof maxLength === 'number'
        ? `${typeof minLength === 'number' ? minLength : 0} to ${maxLength} characters.`
        : `At least ${String(minLength)} characters.`,
    );
  }
  if (typeof rest.pattern === 'string') said.push(`Matches \`${rest.pattern}\`.`);
  if ('default' in schema) said.push(`Default: ${JSON.stringify(value)}.`);
  if (said.length === 0) return schema;
  const before = typeof rest.description === 'string' ? `${rest.description.replace(/\.?$/, '.')} ` : '';
  return { ...rest, description: before + said.join(' ') };
}

/** The strict form of one (input) schema; see the module comment. */
export function strictSchema(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, ...rest } = schema;
  let out = inWords(rest);
  if (out.type === 'object' && isObject(out.properties)) {
    const required = new Set(Array.isArray(out.required) ? (out.required as string[]) : []);
    const properties: Record<string, JsonSchema> = {};
    for (const [name, property] of Object.entries(out.properties)) {
      if (!isObject(property)) continue;
      const strict = strictSchema(property);
      properties[name] = required.has(name) ? strict : nullable(strict);
    }
    out = { ...out, properties, required: Object.keys(properties), additionalProperties: false };
  }
  if (isObject(out.items)) out = { ...out, items: strictSchema(out.items) };
  return out;
}

/** Arguments with their null values dropped: null means "not given" (see strictSchema). */
export function withoutNulls(args: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (args === undefined) return undefined;
  return Object.fromEntries(Object.entries(args).filter(([, v]) => v !== null));
}

type Handler = (request: { params: Record<string, unknown> }, ...rest: unknown[]) => unknown;

/**
 * Publishes strict input schemas and reads null arguments as absent. Install before the tools
 * are registered: it wraps the tools/list and tools/call handlers the SDK installs with them.
 */
export function installStrictSchemas(server: McpServer): void {
  const low = server.server as unknown as { setRequestHandler: (method: string, ...rest: unknown[]) => void };
  const setRequestHandler = low.setRequestHandler.bind(low);
  low.setRequestHandler = (method: string, ...rest: unknown[]): void => {
    const inner = rest[0];
    if (typeof inner !== 'function') return setRequestHandler(method, ...rest);
    const handler = inner as Handler;
    if (method === 'tools/list') {
      const wrapped: Handler = async (request, ...more) => {
        const result = (await handler(request, ...more)) as { tools?: { inputSchema?: JsonSchema }[] };
        if (!Array.isArray(result.tools)) return result;
        return {
          ...result,
          tools: result.tools.map((t) =>
            isObject(t.inputSchema) ? { ...t, inputSchema: strictSchema(t.inputSchema) } : t,
          ),
        };
      };
      return setRequestHandler(method, wrapped, ...rest.slice(1));
    }
    if (method === 'tools/call') {
      const wrapped: Handler = (request, ...more) => {
        const args = request.params.arguments;
        if (!isObject(args)) return handler(request, ...more);
        return handler({ ...request, params: { ...request.params, arguments: withoutNulls(args) } }, ...more);
      };
      return setRequestHandler(method, wrapped, ...rest.slice(1));
    }
    return setRequestHandler(method, ...rest);
  };
}
