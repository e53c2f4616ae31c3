/**
 * A real OTLP/HTTP receiver (JSON encoding) on 127.0.0.1 for tests: it accepts what the
 * orchestrator's OTLP exporters send to /v1/logs and /v1/traces and decodes it. Modes that
 * refuse or never answer let tests prove a broken collector costs nothing.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status?: { code?: number; message?: string };
}

export interface OtlpLogRecord {
  eventName?: string;
  severityNumber?: number;
  severityText?: string;
  body?: { stringValue?: string };
  attributes: Record<string, unknown>;
  traceId?: string;
  spanId?: string;
  timeUnixNano?: string;
}

export interface OtlpReceiver {
  url: string;
  spans: OtlpSpan[];
  logs: OtlpLogRecord[];
  resources: Record<string, unknown>[];
  requests: number;
  close(): Promise<void>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };

function decodeAttributes(list: { key: string; value: AnyValue }[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    out[key] =
      value.stringValue ??
      (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue));
  }
  return out;
}

/** OTLP/JSON may carry ids as hex (spec) or base64 (some encoders); normalise to hex. */
function hexId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

export async function startOtlpReceiver(mode: 'ok' | 'hang' = 'ok'): Promise<OtlpReceiver> {
  const receiver: Omit<OtlpReceiver, 'url' | 'close'> = { spans: [], logs: [], resources: [], requests: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    receiver.requests++;
    if (mode === 'hang') return; // accept the request and never answer
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      const json = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      if (req.url === '/v1/traces') {
        for (const rs of (json.resourceSpans as Record<string, unknown>[] | undefined) ?? []) {
          receiver.resources.push(decodeAttributes((rs.resource as { attributes?: [] } | undefined)?.attributes));
          for (const ss of (rs.scopeSpans as { spans?: Record<string, unknown>[] }[] | undefined) ?? []) {
            for (const s of ss.spans ?? []) {
              receiver.spans.push({
                traceId: hexId(s.traceId as string) ?? '',
                spanId: hexId(s.spanId as string) ?? '',
                ...(s.parentSpanId ? { parentSpanId: hexId(s.parentSpanId as string) } : {}),
                name: s.name as string,
                kind: s.kind as number,
                attributes: decodeAttributes(s.attributes as []),
                status: s.status as OtlpSpan['status'],
              });
            }
          }
        }
      } else if (req.url === '/v1/logs') {
        for (const rl of (json.resourceLogs as Record<string, unknown>[] | undefined) ?? []) {
          receiver.resources.push(decodeAttributes((rl.resource as { attributes?: [] } | undefined)?.attributes));
          for (const sl of (rl.scopeLogs as { logRecords?: Record<string, unknown>[] }[] | undefined) ?? []) {
            for (const r of sl.logRecords ?? []) {
              receiver.logs.push({
                ...(r as object),
                attributes: decodeAttributes(r.attributes as []),
                traceId: hexId(r.traceId as string | undefined),
                spanId: hexId(r.spanId as string | undefined),
              } as OtlpLogRecord);
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}
