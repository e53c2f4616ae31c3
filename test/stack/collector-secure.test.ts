/**
 * The gateway beyond the demo's private network: gateway.yaml + gateway-secure.yaml on the real
 * Collector. Its OTLP receivers take only TLS and only requests carrying the token
 * (bearertokenauth); health and metrics listen on the loopback interface unless told otherwise;
 * without a certificate, a key or a token it refuses to start (`otelcol validate` says why).
 * Forged records (no token, a wrong one, the empty one) never reach Elasticsearch; the
 * orchestrator (real process, real sshd) and the agent (agent-to-gateway-secure.yaml) get theirs
 * through with the documented settings.
 *
 * OTLP/HTTP is driven with node:https, OTLP/gRPC with node:http2 (gRPC framing by hand, one
 * ExportLogsServiceRequest encoded below): no client library decides anything for the test.
 * Engine: Elasticsearch 8.19 with the front door as a capture data stream (what arrives is what
 * the exporter delivered; collector-paths.test.ts proves the documents).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect as http2Connect, constants as h2 } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet } from '../helpers/fleet.js';
import { startSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { AGENT_FLAGS, allDocs, collectorConfig, dockerJsonFile, eventually, type Json } from './collector-engines.js';
import {
  freePort,
  openssl,
  otelcol,
  REPO_ROOT,
  requireEngines,
  startCollector,
  startElasticsearch,
  type RunningCollector,
  type SearchEngine,
} from './engines.js';
import { ok } from './kit.js';

const ready = requireEngines('elasticsearch', 'otelcol', 'openssl');
const DIR = join(REPO_ROOT, 'otel-collector');
const SECURE = [join(DIR, 'gateway.yaml'), join(DIR, 'gateway-secure.yaml')];
const LOGS = 'logs-mcp_ssh-default';
const LOGS_SERVICE = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

/** A CA and a certificate for 127.0.0.1 / localhost signed by it, in `dir`. */
function makeCertificates(dir: string, name: string): { ca: string; cert: string; key: string } {
  const p = (f: string) => join(dir, `${name}-${f}`);
  const run = (args: string[]) => {
    const r = openssl(args);
    if (r.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', `/CN=${name} CA`]);
  run(['req', ...ec, '-keyout', p('key.pem'), '-out', p('csr.pem'), '-subj', '/CN=otel-gateway']);
  writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run([
    'x509',
    '-req',
    '-in',
    p('csr.pem'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('cert.pem'),
    '-days',
    '2',
    '-extfile',
    p('ext.cnf'),
  ]);
  return { ca: p('ca.pem'), cert: p('cert.pem'), key: p('key.pem') };
}

/** One OTLP/JSON logs request with one record whose body is `line`. */
const otlpJson = (line: string): string =>
  JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: line } }] }] }] });

/** The same request in protobuf (ExportLogsServiceRequest), for gRPC. */
function otlpProto(line: string): Buffer {
  const varint = (n: number): Buffer => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return Buffer.from(out);
  };
  const field = (no: number, body: Buffer) => Buffer.concat([varint((no << 3) | 2), varint(body.length), body]);
  const anyValue = field(1, Buffer.from(line)); // AnyValue.string_value
  const record = field(5, anyValue); // LogRecord.body
  const scopeLogs = field(2, record); // ScopeLogs.log_records
  const resourceLogs = field(2, scopeLogs); // ResourceLogs.scope_logs
  return field(1, resourceLogs); // ExportLogsServiceRequest.resource_logs
}

interface Answer {
  status: number | string;
  body: string;
}

function post(url: string, body: string, headers: Record<string, string>, ca?: string): Promise<Answer> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const r = send(
      u,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        ...(ca ? { ca: readFileSync(ca) } : {}),
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    r.on('error', (e) => resolve({ status: `error: ${e.message}`, body: '' }));
    r.end(body);
  });
}

/** One gRPC call (unary, gRPC framing by hand): the grpc-status the server answers, or the error. */
function grpcExport(port: number, message: Buffer, metadata: Record<string, string>, ca?: string): Promise<string> {
  return new Promise((resolve) => {
    const client = http2Connect(`${ca ? 'https' : 'http'}://127.0.0.1:${port}`, ca ? { ca: readFileSync(ca) } : {});
    client.on('error', (e) => resolve(`error: ${e.message}`));
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(message.length, 1);
    const stream = client.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST',
      [h2.HTTP2_HEADER_PATH]: LOGS_SERVICE,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...metadata,
    });
    let status: string | undefined;
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
    });
    stream.on('trailers', (trailers) => (status = String(trailers['grpc-status'])));
    stream.on('error', (e) => {
      client.close();
      resolve(`error: ${e.message}`);
    });
    stream.on('data', () => undefined);
    stream.on('close', () => {
      client.close();
      resolve(status ?? 'no grpc-status');
    });
    stream.end(Buffer.concat([frame, message]));
  });
}

describe.skipIf(!ready)('the secure gateway: TLS and a bearer token (real Collector, real Elasticsearch 8)', () => {
  let es: SearchEngine;
  let sshd: TestSshd;
  let gateway: RunningCollector | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'mcp-otelcol-secure-'));
  const token = randomBytes(32).toString('hex');
  let certs: { ca: string; cert: string; key: string };
  let env: Record<string, string> = {};
  let http = 0;
  let grpc = 0;
  const bodies = async (): Promise<string[]> =>
    (await allDocs(es.url, LOGS)).map((h) => (h._source.body as Json | undefined)?.text as string);
  const validate = (files: string[], e: Record<string, string>) =>
    otelcol(['validate', ...files.flatMap((f) => ['--config', f])], { env: e });

  beforeAll(async () => {
    [es, sshd] = await Promise.all([startElasticsearch(), startSshd()]);
    for (const [name, pattern] of [
      ['logs-mcp_ssh-capture', 'logs-mcp_ssh-*'],
      ['traces-otel-stand-in', 'traces-*.otel-*'],
    ] as const)
      await ok(es.url, 'PUT', `/_index_template/${name}`, {
        index_patterns: [pattern],
        data_stream: {},
        priority: 500,
        template: { mappings: { dynamic: false, properties: { '@timestamp': { type: 'date_nanos' } } } },
      });
    certs = makeCertificates(dir, 'gateway');
    [http, grpc] = [await freePort(), await freePort()];
    env = {
      ELASTICSEARCH_ENDPOINT: es.url,
      COLLECTOR_STORAGE_DIR: join(dir, 'storage'),
      OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
      OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
      COLLECTOR_METRICS_PORT: String(await freePort()),
      COLLECTOR_HEALTH_ENDPOINT: `127.0.0.1:${await freePort()}`,
      OTLP_TLS_CERT_FILE: certs.cert,
      OTLP_TLS_KEY_FILE: certs.key,
      OTLP_AUTH_TOKEN: token,
    };
    gateway = await startCollector(collectorConfig(SECURE, env, dir), { env });
  }, 180_000);

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([es?.stop(), sshd?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('otelcol validate: passes with certificate, key and token (forward overlay too); refuses without each', () => {
    const full = { ...env, OTLP_FORWARD_ENDPOINT: 'https://otlp.example.com:4318' };
    expect(validate(SECURE, full).code, validate(SECURE, full).stderr).toBe(0);
    const withForward = [...SECURE, join(DIR, 'gateway-forward.yaml')];
    expect(validate(withForward, full).code, validate(withForward, full).stderr).toBe(0);
    const without = (name: string) => {
      const e = { ...full };
      delete (e as Record<string, string>)[name];
      return validate(SECURE, e);
    };
    expect(without('OTLP_AUTH_TOKEN').stderr).toMatch(/bearertokenauth\/otlp: no bearer token provided/);
    for (const v of ['OTLP_TLS_CERT_FILE', 'OTLP_TLS_KEY_FILE']) {
      const r = without(v);
      expect(r.code, v).not.toBe(0);
      expect(r.stderr, v).toMatch(/TLS configuration must include both certificate and key/);
    }
  });

  it('by default: TLS and the token on both OTLP protocols, health and metrics on 127.0.0.1 only', () => {
    const r = otelcol(['print-config', '--mode', 'unredacted', ...SECURE.flatMap((f) => ['--config', f])], {
      env: { OTLP_TLS_CERT_FILE: certs.cert, OTLP_TLS_KEY_FILE: certs.key, OTLP_AUTH_TOKEN: token },
    });
    expect(r.code, r.stderr).toBe(0);
    const c = parse(r.stdout) as Json;
    for (const p of ['grpc', 'http']) {
      const proto = c.receivers.otlp.protocols[p];
      expect(proto.tls.cert_file, p).toBe(certs.cert);
      expect(proto.auth.authenticator, p).toBe('bearertokenauth/otlp');
    }
    expect(c.service.extensions).toContain('bearertokenauth/otlp');
    expect(c.extensions.health_check.endpoint).toBe('127.0.0.1:13133');
    expect(c.service.telemetry.metrics.readers[0].pull.exporter.prometheus.host).toBe('127.0.0.1');
    // The plain gateway.yaml alone is the demo's: every interface, no TLS, no token.
    const plain = parse(
      otelcol(['print-config', '--mode', 'unredacted', '--config', SECURE[0] as string]).stdout,
    ) as Json;
    expect(plain.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    expect(plain.receivers.otlp.protocols.http.auth).toBeUndefined();
  });

  it('OTLP/HTTP: plain HTTP, no token, a wrong one or the empty one are refused; the token gets in', async () => {
    const url = `https://127.0.0.1:${http}/v1/logs`;
    const forged = (n: number) => `{"type":"audit","ts":1795326099.1,"alias":"web1","forged":${n}}`;
    const plain = await post(`http://127.0.0.1:${http}/v1/logs`, otlpJson(forged(1)), {});
    expect(plain.status).toBe(400); // Go's TLS server to an HTTP request
    expect(plain.body).toMatch(/HTTP request to an HTTPS server/);
    for (const [i, auth] of [
      [2, undefined],
      [3, 'Bearer wrong'],
      [4, 'Bearer '],
      [5, `Basic ${Buffer.from(`x:${token}`).toString('base64')}`],
      [6, token],
    ] as const) {
      const r = await post(url, otlpJson(forged(i)), auth === undefined ? {} : { authorization: auth }, certs.ca);
      expect(r.status, `${auth}`).toBe(401);
    }
    const genuine = '{"type":"trace","ts":1795326099.2,"op":"run_done","elapsed_ms":1,"via":"https"}';
    const r = await post(url, otlpJson(genuine), { authorization: `Bearer ${token}` }, certs.ca);
    expect(r.status, r.body).toBe(200);
    expect(await eventually(async () => (await bodies()).includes(genuine), 20_000)).toBe(true);
    expect((await bodies()).filter((b) => b.includes('"forged"'))).toEqual([]);
  });

  it('OTLP/gRPC: plaintext, no token, a wrong one or the empty one are refused; the token gets in', async () => {
    const msg = (s: string) => otlpProto(s);
    expect(await grpcExport(grpc, msg('{"forged":10}'), { authorization: `Bearer ${token}` })).toMatch(/^error|^no /);
    expect(await grpcExport(grpc, msg('{"forged":11}'), {}, certs.ca)).toBe('16'); // UNAUTHENTICATED
    expect(await grpcExport(grpc, msg('{"forged":12}'), { authorization: 'Bearer wrong' }, certs.ca)).toBe('16');
    expect(await grpcExport(grpc, msg('{"forged":13}'), { authorization: 'Bearer ' }, certs.ca)).toBe('16');
    const genuine = '{"type":"trace","ts":1795326099.3,"op":"run_done","elapsed_ms":1,"via":"grpc"}';
    expect(await grpcExport(grpc, msg(genuine), { authorization: `Bearer ${token}` }, certs.ca)).toBe('0');
    expect(await eventually(async () => (await bodies()).includes(genuine), 20_000)).toBe(true);
    expect((await bodies()).filter((b) => b.includes('"forged"'))).toEqual([]);
  });

  it('the orchestrator gets its records in with OTEL_EXPORTER_OTLP_HEADERS and its CA (NODE_EXTRA_CA_CERTS)', async () => {
    const fleet = makeFleet([sshd], [{ alias: 'web1', sshd }]);
    const s = await startSession(fleet.configDir, {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `https://127.0.0.1:${http}`,
        OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer%20${token}`,
        NODE_EXTRA_CA_CERTS: certs.ca,
        OTEL_SERVICE_NAME: 'mcp-ssh-orchestrator',
      },
    });
    try {
      await s.call('ssh_run', { alias: 'web1', command: 'hostname' });
    } finally {
      await s.close(); // the server flushes its OTLP exporters before it exits
    }
    const lines = s
      .rawStderr()
      .split('\n')
      .filter((l) => l.includes('"type":"audit"'));
    expect(lines.length).toBe(1);
    expect(await eventually(async () => (await bodies()).includes(lines[0] as string), 30_000)).toBe(true);
  });

  it('the agent through agent-to-gateway-secure.yaml: its lines arrive; with a wrong token none do', async () => {
    const run = async (agentToken: string, line: string) => {
      const file = dockerJsonFile();
      const e = {
        MCP_SSH_DOCKER_LOGS: file.glob,
        ELASTICSEARCH_ENDPOINT: 'http://127.0.0.1:9', // unused: the overlay replaces the exporter
        GATEWAY_OTLP_ENDPOINT: `https://127.0.0.1:${http}`,
        GATEWAY_AUTH_TOKEN: agentToken,
        GATEWAY_CA_FILE: certs.ca,
        COLLECTOR_STORAGE_DIR: mkdtempSync(join(dir, 'agent-')),
        COLLECTOR_METRICS_HOST: '127.0.0.1',
        COLLECTOR_METRICS_PORT: String(await freePort()),
        COLLECTOR_HEALTH_ENDPOINT: `127.0.0.1:${await freePort()}`,
      };
      const files = ['agent.yaml', 'agent-to-gateway.yaml', 'agent-to-gateway-secure.yaml'].map((f) => join(DIR, f));
      const agent = await startCollector(collectorConfig(files, e, mkdtempSync(join(dir, 'cfg-'))), {
        env: e,
        args: AGENT_FLAGS,
      });
      file.write([{ line, stream: 'stderr' }]);
      return { agent, file };
    };
    const good = '{"type":"trace","ts":1795326099.4,"op":"run_done","elapsed_ms":1,"via":"agent"}';
    const a = await run(token, good);
    try {
      expect(await eventually(async () => (await bodies()).includes(good), 30_000), a.agent.logs().slice(-2000)).toBe(
        true,
      );
    } finally {
      await a.agent.stop();
      a.file.remove();
    }
    const bad = '{"type":"trace","ts":1795326099.5,"op":"run_done","elapsed_ms":1,"via":"wrong token"}';
    const b = await run('not-the-token', bad);
    try {
      await b.agent.waitForLog(/401/, 30_000);
      expect(await bodies()).not.toContain(bad);
    } finally {
      await b.agent.stop();
      b.file.remove();
    }
  });
  it('why the token comes from the environment: a token file ending in a newline also lets the empty token in', async () => {
    // bearertokenauth v0.145 splits its `filename` at newlines and accepts every line, the empty
    // last one too. Shown on a minimal gateway (not the kit's config), plaintext for brevity.
    const tokenFile = join(dir, 'token-file');
    writeFileSync(tokenFile, `${token}\n`); // as `echo $TOKEN > file` writes it
    const port = await freePort();
    const config = join(dir, 'file-token.yaml');
    writeFileSync(
      config,
      [
        'extensions:',
        '  bearertokenauth:',
        `    filename: ${tokenFile}`,
        'receivers:',
        '  otlp:',
        '    protocols:',
        '      grpc:',
        `        endpoint: 127.0.0.1:${port}`,
        '        auth:',
        '          authenticator: bearertokenauth',
        'exporters:',
        '  debug: {}',
        'service:',
        '  extensions: [bearertokenauth]',
        '  telemetry:',
        '    metrics:',
        '      level: none',
        '  pipelines:',
        '    logs:',
        '      receivers: [otlp]',
        '      exporters: [debug]',
        '',
      ].join('\n'),
    );
    const c = await startCollector(config);
    try {
      expect(await grpcExport(port, otlpProto('x'), { authorization: 'Bearer wrong' })).toBe('16');
      expect(await grpcExport(port, otlpProto('x'), { authorization: 'Bearer ' })).toBe('0'); // let in
    } finally {
      await c.stop();
    }
  });
});
