import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENTS_DOC_PATH, renderEventsDoc } from '../../scripts/events-doc.js';
import { TelemetryBus, unixSecondsNow, type TelemetrySink } from '../../src/telemetry/bus.js';
import { commandHash } from '../../src/telemetry/command-hash.js';
import type { StampedEvent } from '../../src/telemetry/events.js';
import { commandStatus } from '../../src/telemetry/metrics.js';
import { parseMetricsAddress } from '../../src/telemetry/metrics-server.js';
import { toLogRecord } from '../../src/telemetry/otel-log-record.js';
import { redactSecrets, redactWords } from '../../src/telemetry/redact.js';
import { toStderrLine } from '../../src/telemetry/stderr-line.js';
import { StderrSink } from '../../src/telemetry/stderr-sink.js';
import { AuditFirstStdioTransport } from '../../src/server/stdio-transport.js';

const audit: StampedEvent = {
  type: 'audit',
  ts: 1761489054.143448,
  alias: 'web1',
  hash: '7063dece7ccc',
  exit_code: 0,
  duration_ms: 150,
  bytes_out: 25,
  bytes_err: 0,
  cancelled: false,
  timeout: false,
  target_ip: '10.0.0.11',
};

describe('event model and derivations', () => {
  it('docs/events.md is exactly what the event model renders (run npm run docs:events)', () => {
    expect(readFileSync(EVENTS_DOC_PATH, 'utf8')).toBe(renderEventsDoc());
  });

  it('hashes commands like the seed contract', () => {
    expect(commandHash('hostname')).toBe('7063dece7ccc');
    expect(commandHash('rm -rf /')).toBe('5c7923bd67b0');
  });

  it('stamps ts as Unix seconds with at most microsecond precision', () => {
    const ts = unixSecondsNow();
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(5);
    expect(String(ts)).toMatch(/^\d{10}(\.\d{1,6})?$/);
  });

  it('writes the seed audit line byte for byte', () => {
    expect(toStderrLine(audit)).toBe(
      '{"type":"audit","ts":1761489054.143448,"alias":"web1","hash":"7063dece7ccc","exit_code":0,"duration_ms":150,"bytes_out":25,"bytes_err":0,"cancelled":false,"timeout":false,"target_ip":"10.0.0.11"}',
    );
  });

  it('writes security events with level, kind and an ISO timestamp first', () => {
    const line = JSON.parse(
      toStderrLine({
        type: 'security_event',
        ts: 1762112167.394149,
        event_type: 'path_traversal_attempt',
        attempted_path: '../etc/passwd',
      }),
    ) as Record<string, unknown>;
    expect(Object.keys(line)).toEqual(['level', 'kind', 'type', 'event_type', 'ts', 'timestamp', 'attempted_path']);
    expect(line).toMatchObject({ level: 'error', kind: 'security_audit', timestamp: '2025-11-02T19:36:07.394Z' });
  });

  it('writes error lines as level, msg, error first', () => {
    const line = toStderrLine({ type: 'error', ts: 1, level: 'warn', msg: 'run_exception', error: 'boom' });
    expect(line).toBe('{"level":"warn","msg":"run_exception","error":"boom","type":"error","ts":1}');
  });

  it('maps severities: INFO success, WARN denial/timeout/cancel, ERROR failures and security events', () => {
    expect(toLogRecord(audit).severityText).toBe('INFO');
    expect(toLogRecord({ ...audit, timeout: true, exit_code: -1 }).severityText).toBe('WARN');
    expect(toLogRecord({ ...audit, cancelled: true, exit_code: -1 }).severityText).toBe('WARN');
    expect(toLogRecord({ ...audit, exit_code: 2 }).severityText).toBe('ERROR');
    expect(toLogRecord({ type: 'policy_decision', ts: 1, alias: 'a', hash: 'h', allowed: false }).severityText).toBe(
      'WARN',
    );
    expect(toLogRecord({ type: 'security_event', ts: 1, event_type: 'host_key_mismatch' }).severityText).toBe('ERROR');
  });

  it('names log record attributes by semantic convention where one exists', () => {
    const record = toLogRecord({ ...audit, host: 'web1.example.com', port: 2222, exit_code: 3 });
    expect(record.eventName).toBe('mcp_ssh.audit');
    expect(record.attributes).toMatchObject({
      'network.peer.address': '10.0.0.11',
      'process.exit.code': 3,
      'server.address': 'web1.example.com',
      'server.port': 2222,
      'error.type': 'nonzero_exit',
      'mcp_ssh.alias': 'web1',
      'mcp_ssh.duration_ms': 150,
    });
    expect(JSON.parse(record.body)).toMatchObject({ type: 'audit', exit_code: 3 });
    expect(record.timestamp).toBeCloseTo(1761489054143.448, 3);
  });

  it('classifies command outcomes for ssh_commands_total', () => {
    expect(commandStatus(audit)).toBe('success');
    expect(commandStatus({ ...audit, exit_code: 1 })).toBe('failure');
    expect(commandStatus({ ...audit, exit_code: -1 })).toBe('error');
    expect(commandStatus({ ...audit, exit_code: -1, timeout: true })).toBe('timeout');
    expect(commandStatus({ ...audit, exit_code: -1, cancelled: true })).toBe('cancelled');
  });

  it('parses metrics addresses and explains bad ones', () => {
    expect(parseMetricsAddress('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(() => parseMetricsAddress('9464')).toThrow(/HOST:PORT/);
    expect(() => parseMetricsAddress('[nothost]:1')).toThrow(/HOST:PORT/);
  });
});

describe('secret redaction', () => {
  it.each([
    ['mysql --password=hunter2 -e x', 'hunter2'],
    ['mysql -phunter2 db', 'hunter2'],
    ["curl -H 'Authorization: Bearer abc.def.ghi' x", 'abc.def.ghi'],
    ['DB_PASSWORD=s3cret ./run', 's3cret'],
    ['git clone https://user:tok3n@example.com/r.git', 'tok3n'],
    ['export AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP', 'AKIAABCDEFGHIJKLMNOP'],
    ['echo ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
    ['gpg --batch --passphrase=hunter2 -d f', 'hunter2'],
    ['gpg --passphrase hunter2 -d f', 'hunter2'],
    ['sshpass -p hunter2 ssh host', 'hunter2'],
    ['sshpass -e -p hunter2 ssh host', 'hunter2'],
    ['DB_PASS=hunter2 ./migrate', 'hunter2'],
    ['export STRIPE_KEY=sk_live_abc123', 'sk_live_abc123'],
    ['MY_TOKEN="a b c" run', 'a b c'],
    ["curl --password 'two words' x", 'two words'],
    ['curl -u admin:hunter2 https://x', 'hunter2'],
    ['curl --user=admin:hunter2 https://x', 'hunter2'],
    ["curl -u 'admin:two words' https://x", 'two words'],
    ['mysql -h db admin:hunter2@db.internal', 'hunter2'],
    ['psql postgres://app:hunter2@db/app', 'hunter2'],
  ])('%s loses its secret', (command, secret) => {
    const out = redactSecrets(command);
    expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED]');
  });

  it('leaves ordinary commands alone', () => {
    for (const command of ['ls -la /var/log && uptime', 'grep -c error /var/log/syslog', 'date -u +%H:%M'])
      expect(redactSecrets(command)).toBe(command);
  });

  it.each([
    [['gpg', '--passphrase', 'two words', '-d', 'f'], 'two words'],
    [['sshpass', '-p', 'two words', 'ssh', 'h'], 'two words'],
    [['env', 'DB_PASSWORD=two words', 'run'], 'two words'],
    [['curl', '-u', 'admin:two words', 'x'], 'two words'],
    [['curl', '--token=two words', 'x'], 'two words'],
    [['git', 'clone', 'https://u:two words@h/r'], 'two words'],
  ])('redactWords %j hides the whole quoted value', (words, secret) => {
    const out = redactWords(words).join(' ');
    expect(out).not.toContain(secret);
    expect(out).not.toContain('words');
    expect(out).toContain('[REDACTED]');
  });

  it('redactWords leaves ordinary words alone', () => {
    const words = ['find', '/var/log', '-name', '*.log', '-mtime', '+7'];
    expect(redactWords(words)).toEqual(words);
  });
});

describe('telemetry bus', () => {
  it('keeps writing to healthy sinks when one throws, and reports the failure once', () => {
    const seen: StampedEvent[] = [];
    const broken: TelemetrySink = {
      name: 'broken',
      write: () => {
        throw new Error('disk full');
      },
    };
    const bus = new TelemetryBus([broken, { name: 'ok', write: (e) => seen.push(e) }]);
    bus.emit({ type: 'trace', op: 'a', elapsed_ms: 1 });
    bus.emit({ type: 'trace', op: 'b', elapsed_ms: 1 });
    expect(seen.map((e) => (e.type === 'trace' ? e.op : e.type === 'error' ? e.msg : ''))).toEqual([
      'telemetry_sink_failed',
      'a',
      'b',
    ]);
  });

  it('the stderr sink writes one JSON line per event, nothing else', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString()));
    const sink = new StderrSink(stream);
    sink.write(audit);
    sink.write({ type: 'trace', ts: 2, op: 'run_done', elapsed_ms: 3 });
    await sink.close();
    expect(text).toBe(`${toStderrLine(audit)}\n{"type":"trace","ts":2,"op":"run_done","elapsed_ms":3}\n`);
  });

  it('the stderr sink writes one turn of the event loop as one chunk, and the next turn as another', async () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d.toString()));
    const sink = new StderrSink(stream);
    sink.write({ type: 'trace', ts: 1, op: 'a', elapsed_ms: 1 });
    sink.write({ type: 'trace', ts: 2, op: 'b', elapsed_ms: 1 });
    expect(chunks).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    sink.write({ type: 'trace', ts: 3, op: 'c', elapsed_ms: 1 });
    await sink.close();
    expect(chunks).toEqual([
      '{"type":"trace","ts":1,"op":"a","elapsed_ms":1}\n{"type":"trace","ts":2,"op":"b","elapsed_ms":1}\n',
      '{"type":"trace","ts":3,"op":"c","elapsed_ms":1}\n',
    ]);
  });

  it('a reply on stdout never overtakes the stderr lines emitted before it', async () => {
    // One shared record of what left, in order: the stderr sink and the MCP transport's stdout.
    const order: string[] = [];
    const stderr = new PassThrough();
    stderr.on('data', (d: Buffer) =>
      order.push(
        ...d
          .toString()
          .trimEnd()
          .split('\n')
          .map((l) => `stderr ${l}`),
      ),
    );
    const stdout = new PassThrough();
    stdout.on('data', (d: Buffer) => order.push(`stdout ${d.toString().trimEnd()}`));
    const bus = new TelemetryBus([new StderrSink(stderr)]);
    const transport = new AuditFirstStdioTransport(
      () => bus.flush(),
      () => undefined,
      new PassThrough(),
      stdout,
    );
    bus.emit({ type: 'trace', op: 'run_done', elapsed_ms: 3 });
    await transport.send({ jsonrpc: '2.0', id: 1, result: {} });
    bus.emit({ type: 'trace', op: 'after', elapsed_ms: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(order.map((l) => l.replace(/"ts":[0-9.]+/, '"ts":T'))).toEqual([
      'stderr {"type":"trace","ts":T,"op":"run_done","elapsed_ms":3}',
      'stdout {"jsonrpc":"2.0","id":1,"result":{}}',
      'stderr {"type":"trace","ts":T,"op":"after","elapsed_ms":1}',
    ]);
  });

  it('concurrent large replies are written one at a time, in order, with at most one drain listener', async () => {
    let maxDrainListeners = 0;
    const written: string[] = [];
    const stdout = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        written.push(chunk.toString('utf8'));
        maxDrainListeners = Math.max(maxDrainListeners, stdout.listenerCount('drain'));
        setTimeout(done, 1); // a slow reader
      },
    });
    const transport = new AuditFirstStdioTransport(
      () => undefined,
      () => undefined,
      new PassThrough(),
      stdout,
    );
    const big = 'x'.repeat(64 * 1024);
    await Promise.all(
      Array.from({ length: 15 }, (_, id) => transport.send({ jsonrpc: '2.0', id, result: { text: big } })),
    );
    expect(maxDrainListeners).toBeLessThanOrEqual(1);
    expect(written.map((w) => (JSON.parse(w) as { id: number }).id)).toEqual([...Array(15).keys()]);
  });

  it('lines still pending when the process exits are written before it ends', () => {
    // process.exit() in the same turn as the write: only the exit hook can save the line.
    const script = [
      "import { StderrSink } from './src/telemetry/stderr-sink.ts';",
      'const sink = new StderrSink();',
      "sink.write({ type: 'trace', ts: 1, op: 'last_words', elapsed_ms: 0 });",
      'process.exit(3);',
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
    });
    expect(run.status).toBe(3);
    expect(run.stderr).toBe('{"type":"trace","ts":1,"op":"last_words","elapsed_ms":0}\n');
  });
});
