/**
 * A real OTLP/HTTP receiver on 127.0.0.1 for tests: it accepts what the orchestrator's OTLP
 * exporters send to /v1/logs and /v1/traces, in either encoding (http/protobuf, the default, or
 * http/json; gzip or not), and decodes it. Modes that refuse or never answer let tests prove a
 * broken collector costs nothing.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

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

// ---------------------------------------------------------------------------------------------
// OTLP protobuf, decoded into the shape of OTLP/JSON (ids as hex), for the fields read here.
// Field numbers from opentelemetry-proto (common, resource, trace, logs v1).

type Fields = Map<number, (bigint | Buffer)[]>;

/** One message's fields: varints and fixed64 as bigint, length-delimited and fixed32 as bytes. */
function fieldsOf(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = buf[i++];
      if (byte === undefined) throw new Error('truncated protobuf varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const [field, wire] = [key >>> 3, key & 7];
    let value: bigint | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 1) {
      value = buf.readBigUInt64LE(i);
      i += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      value = buf.subarray(i, i + len);
      i += len;
    } else if (wire === 5) {
      value = buf.subarray(i, i + 4);
      i += 4;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

const bytesOf = (f: Fields, n: number): Buffer[] => (f.get(n) ?? []).filter((v): v is Buffer => Buffer.isBuffer(v));
const str = (f: Fields, n: number): string | undefined => bytesOf(f, n)[0]?.toString('utf8');
const hex = (f: Fields, n: number): string | undefined => {
  const b = bytesOf(f, n)[0];
  return b && b.length > 0 ? b.toString('hex') : undefined;
};
const num = (f: Fields, n: number): bigint | undefined => {
  const v = f.get(n)?.[0];
  return typeof v === 'bigint' ? v : undefined;
};

function anyValueOf(buf: Buffer): Record<string, unknown> {
  const f = fieldsOf(buf);
  if (f.has(1)) return { stringValue: str(f, 1) ?? '' };
  if (f.has(2)) return { boolValue: num(f, 2) === 1n };
  if (f.has(3)) return { intValue: String(BigInt.asIntN(64, num(f, 3) ?? 0n)) };
  if (f.has(4)) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(num(f, 4) ?? 0n);
    return { doubleValue: b.readDoubleLE(0) };
  }
  if (f.has(5))
    return { arrayValue: { values: bytesOf(fieldsOf(bytesOf(f, 5)[0] ?? Buffer.alloc(0)), 1).map(anyValueOf) } };
  if (f.has(6)) return { kvlistValue: { values: keyValuesOf(fieldsOf(bytesOf(f, 6)[0] ?? Buffer.alloc(0)), 1) } };
  return {};
}

function keyValuesOf(f: Fields, n: number): { key: string; value: Record<string, unknown> }[] {
  return bytesOf(f, n).map((kv) => {
    const k = fieldsOf(kv);
    return { key: str(k, 1) ?? '', value: anyValueOf(bytesOf(k, 2)[0] ?? Buffer.alloc(0)) };
  });
}

const resourceOf = (f: Fields): { attributes: { key: string; value: Record<string, unknown> }[] } => ({
  attributes: keyValuesOf(fieldsOf(bytesOf(f, 1)[0] ?? Buffer.alloc(0)), 1),
});

function decodeTracesProto(body: Buffer): Record<string, unknown> {
  return {
    resourceSpans: bytesOf(fieldsOf(body), 1).map((rsBuf) => {
      const rs = fieldsOf(rsBuf);
      return {
        resource: resourceOf(rs),
        scopeSpans: bytesOf(rs, 2).map((ssBuf) => ({
          spans: bytesOf(fieldsOf(ssBuf), 2).map((spBuf) => {
            const sp = fieldsOf(spBuf);
            const status = bytesOf(sp, 15)[0];
            const st = status ? fieldsOf(status) : undefined;
            return {
              traceId: hex(sp, 1),
              spanId: hex(sp, 2),
              parentSpanId: hex(sp, 4),
              name: str(sp, 5),
              kind: Number(num(sp, 6) ?? 0n),
              attributes: keyValuesOf(sp, 9),
              ...(st ? { status: { code: Number(num(st, 3) ?? 0n), message: str(st, 2) } } : {}),
            };
          }),
        })),
      };
    }),
  };
}

function decodeLogsProto(body: Buffer): Record<string, unknown> {
  return {
    resourceLogs: bytesOf(fieldsOf(body), 1).map((rlBuf) => {
      const rl = fieldsOf(rlBuf);
      return {
        resource: resourceOf(rl),
        scopeLogs: bytesOf(rl, 2).map((slBuf) => ({
          logRecords: bytesOf(fieldsOf(slBuf), 2).map((lrBuf) => {
            const lr = fieldsOf(lrBuf);
            const body = bytesOf(lr, 5)[0];
            const record: Record<string, unknown> = {
              timeUnixNano: String(num(lr, 1) ?? 0n),
              severityNumber: Number(num(lr, 2) ?? 0n),
              severityText: str(lr, 3),
              attributes: keyValuesOf(lr, 6),
              traceId: hex(lr, 9),
              spanId: hex(lr, 10),
              eventName: str(lr, 12),
            };
            if (body) record.body = anyValueOf(body);
            return record;
          }),
        })),
      };
    }),
  };
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
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip' && raw.length > 0) raw = gunzipSync(raw);
      const protobuf = (req.headers['content-type'] ?? '').includes('protobuf');
      let json: Record<string, unknown> = {};
      if (protobuf)
        json = req.url === '/v1/traces' ? decodeTracesProto(raw) : req.url === '/v1/logs' ? decodeLogsProto(raw) : {};
      else if (raw.length > 0) json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
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
      // An empty Export*ServiceResponse: full success, in the request's encoding.
      if (protobuf) res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
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
