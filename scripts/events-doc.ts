/**
 * Renders docs/events.md from the event model (src/telemetry/events.ts), so the document is
 * the contract the code emits. `npm run docs:events` rewrites it; a unit test fails when the
 * committed file differs from what this renders.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { EVENT_SCHEMAS } from '../src/telemetry/events.js';

interface JsonSchemaProperty {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchemaProperty[];
  items?: JsonSchemaProperty;
  description?: string;
}

function typeOf(p: JsonSchemaProperty): string {
  if (p.const !== undefined) return `\`${JSON.stringify(p.const)}\``;
  if (p.enum) return p.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (p.anyOf) return p.anyOf.map(typeOf).join(' \\| ');
  if (p.type === 'array') return `array of ${p.items ? typeOf(p.items) : 'any'}`;
  if (Array.isArray(p.type)) return p.type.join(' \\| ');
  return p.type ?? 'any';
}

const EXAMPLES: Record<string, string> = {
  policy_decision:
    '{"type":"policy_decision","ts":1761489054.143395,"alias":"web1","hash":"7063dece7ccc","allowed":true,"rule":"read-only","task_id":"task_3f2a9c1b7d4e5f60","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}',
  audit:
    '{"type":"audit","ts":1761489054.293448,"alias":"web1","hash":"7063dece7ccc","exit_code":0,"duration_ms":150,"bytes_out":25,"bytes_err":0,"cancelled":false,"timeout":false,"target_ip":"10.0.0.11","host":"web1.example.com","port":22,"task_id":"task_3f2a9c1b7d4e5f60","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"a3ce929d0e0e4736"}',
  progress:
    '{"type":"progress","ts":1761489054.2,"task_id":"task_3f2a9c1b7d4e5f60","phase":"connecting","bytes_read":0,"elapsed_ms":1,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"b7ad6b7169203331"}',
  security_event:
    '{"level":"error","kind":"security_audit","type":"security_event","event_type":"path_traversal_attempt","ts":1762112167.394149,"timestamp":"2025-11-02T19:36:07.394Z","attempted_path":"../etc/passwd","resolved_path":"/app/secrets/../etc/passwd","reason":"path_outside_allowed_directory","base_dir":"/app/secrets"}',
  trace: '{"type":"trace","ts":1761489054.3,"op":"run_done","elapsed_ms":151,"task_id":"task_3f2a9c1b7d4e5f60"}',
  error:
    '{"level":"error","msg":"run_exception","error":"connection refused by 10.0.0.11:22: is sshd running and is the port right?","type":"error","ts":1761489054.31,"task_id":"task_3f2a9c1b7d4e5f60"}',
  config_reload: '{"type":"config_reload","ts":1761489100.5,"success":true,"generation":2,"hosts":12,"rules":5}',
};

export function renderEventsDoc(): string {
  const out: string[] = [
    '# Telemetry events',
    '',
    '<!-- Generated from src/telemetry/events.ts by `npm run docs:events`; do not edit by hand. -->',
    '',
    'Every event is one JSON object on one line of **stderr** (stdout carries only MCP JSON-RPC).',
    'The same event is also an OpenTelemetry log record (event name `mcp_ssh.<type>`, the stderr',
    'line as body) and updates the Prometheus metrics, so the three never disagree.',
    '',
    'Common to every line: `ts`, Unix seconds as a float with microsecond precision, stamped when',
    'the event is emitted. Lines emitted while a span is active also carry `trace_id` and `span_id`.',
    '',
    'One command produces, in order: `policy_decision`, `progress` (`connecting`), `progress`',
    '(`connected`), `progress` (`running`, every 0.5 s while the command runs), `audit`, `trace`',
    '(`op: "run_done"`). A denied command produces only its `policy_decision` (and a',
    '`security_event` when it was a bypass attempt).',
    '',
    'Key order on stderr: `type`, `ts` first; security events start with `level`, `kind`, `type`,',
    '`event_type`, `ts`, `timestamp`; error lines with `level`, `msg`, `error`.',
    '',
  ];
  for (const [type, schema] of Object.entries(EVENT_SCHEMAS)) {
    const json = z.toJSONSchema(schema, { io: 'input' }) as {
      description?: string;
      properties: Record<string, JsonSchemaProperty>;
      required?: string[];
    };
    const required = new Set(json.required ?? []);
    out.push(
      `## \`${type}\``,
      '',
      json.description ?? '',
      '',
      '| field | type | always | meaning |',
      '|---|---|---|---|',
    );
    out.push('| `ts` | number | yes | Unix seconds, microsecond precision |');
    for (const [name, prop] of Object.entries(json.properties)) {
      out.push(
        `| \`${name}\` | ${typeOf(prop)} | ${required.has(name) ? 'yes' : 'no'} | ${(prop.description ?? '').replace(/\|/g, '\\|')} |`,
      );
    }
    const example = EXAMPLES[type];
    if (example) out.push('', 'Example:', '', '```json', example, '```');
    out.push('');
  }
  return out.join('\n');
}

export const EVENTS_DOC_PATH = fileURLToPath(new URL('../docs/events.md', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(EVENTS_DOC_PATH, renderEventsDoc());
}
