/**
 * The telemetry contract end to end: the stderr line sequence of one command (golden, field by
 * field), OTLP log records and spans received by a real OTLP/HTTP receiver with matching ids,
 * and a collector that refuses or never answers costing nothing.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_SCHEMAS } from '../../src/telemetry/events.js';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { startSession, type McpSession } from '../helpers/mcp-session.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { freePort, startSshd, type TestSshd } from '../helpers/sshd.js';

type Line = Record<string, unknown>;

/** Every line must match its event schema exactly: no unknown fields, right types. */
function expectValidLine(line: Line): void {
  const type = line.type as keyof typeof EVENT_SCHEMAS;
  const schema = EVENT_SCHEMAS[type];
  expect(schema, `unknown line type in ${JSON.stringify(line)}`).toBeDefined();
  const { ts, level, kind, timestamp, ...rest } = line;
  expect(typeof ts).toBe('number');
  expect(String(ts)).toMatch(/^\d{10}(\.\d{1,6})?$/);
  if (type === 'security_event') {
    expect(level).toBe('error');
    expect(kind).toBe('security_audit');
    expect(new Date(timestamp as string).getTime() / 1000).toBeCloseTo(ts as number, 2);
  } else if (type === 'error') {
    (rest as Line).level = level;
  }
  const parsed = schema.strict().safeParse(rest);
  expect(parsed.success, `${JSON.stringify(line)}: ${parsed.error?.message}`).toBe(true);
}

function linesOfTask(lines: Line[], taskId: string): Line[] {
  return lines.filter((l) => l.task_id === taskId);
}

describe('telemetry contract', () => {
  let sshd: TestSshd;
  let fleet: Fleet;

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = makeFleet([sshd], [{ alias: 'web1', sshd, tags: ['web'] }]);
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  describe('stderr lines of one command (golden sequence)', () => {
    let s: McpSession;
    beforeAll(async () => {
      s = await startSession(fleet.configDir);
    });
    afterAll(async () => {
      await s?.close();
    });

    it('hostname: policy_decision, progress connecting/connected, audit, trace — every field', async () => {
      const r = await s.call('ssh_run', { alias: 'web1', command: 'hostname' });
      const taskId = (r.structuredContent as { task_id: string }).task_id;
      await s.waitForLine((l) => l.type === 'trace' && l.task_id === taskId);
      const lines = linesOfTask(s.lines(), taskId);
      expect(lines.map((l) => (l.type === 'progress' ? `progress:${String(l.phase)}` : l.type))).toEqual([
        'policy_decision',
        'progress:connecting',
        'progress:connected',
        'audit',
        'trace',
      ]);
      for (const l of lines) expectValidLine(l);
      const [decision, connecting, connected, audit, trace] = lines as [Line, Line, Line, Line, Line];
      expect(Object.keys(decision).slice(0, 2)).toEqual(['type', 'ts']);
      expect(decision).toMatchObject({ alias: 'web1', hash: '7063dece7ccc', allowed: true, rule: 'read-only' });
      expect(connecting).toMatchObject({ phase: 'connecting', bytes_read: 0 });
      expect(connected).toMatchObject({ phase: 'connected', bytes_read: 0 });
      expect(audit).toMatchObject({
        alias: 'web1',
        hash: '7063dece7ccc',
        exit_code: 0,
        bytes_err: 0,
        cancelled: false,
        timeout: false,
        target_ip: '127.0.0.1',
        host: '127.0.0.1',
        port: sshd.port,
      });
      expect(audit.bytes_out).toBe(Buffer.byteLength((r.structuredContent as { stdout: string }).stdout));
      expect(trace).toMatchObject({ op: 'run_done' });
      // The seed's "complete audit trail for a host" query, select(.alias == "web1"), sees every line.
      expect(lines.filter((l) => l.alias === 'web1')).toHaveLength(lines.length);
      expect(Object.keys(connecting).slice(0, 7)).toEqual([
        'type',
        'ts',
        'task_id',
        'phase',
        'bytes_read',
        'elapsed_ms',
        'alias',
      ]);
      expect(trace.elapsed_ms).toBeGreaterThanOrEqual(audit.duration_ms as number);
      // Ordered in time, and all in one trace.
      const ts = lines.map((l) => l.ts as number);
      expect([...ts].sort((a, b) => a - b)).toEqual(ts);
      expect(new Set(lines.map((l) => l.trace_id)).size).toBe(1);
      expect(decision.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(audit.span_id).toMatch(/^[0-9a-f]{16}$/);
    });

    it('progress running comes every 0.5 s: the count matches the time the command ran', async () => {
      const r = await s.call('ssh_run', { alias: 'web1', command: 'sleep 2.2' });
      const taskId = (r.structuredContent as { task_id: string }).task_id;
      await s.waitForLine((l) => l.type === 'trace' && l.task_id === taskId);
      const lines = linesOfTask(s.lines(), taskId);
      const running = lines.filter((l) => l.phase === 'running');
      const connected = lines.find((l) => l.phase === 'connected') as Line;
      const audit = lines.find((l) => l.type === 'audit') as Line;
      const ranMs = (audit.duration_ms as number) - (connected.elapsed_ms as number);
      // One line per completed 0.5 s of running; a tick can land on either side of the end.
      expect(running.length).toBeGreaterThanOrEqual(4);
      expect(Math.abs(running.length - Math.floor(ranMs / 500))).toBeLessThanOrEqual(1);
      running.forEach((l, i) => {
        expectValidLine(l);
        if (i > 0) expect(l.elapsed_ms as number).toBeGreaterThan(running[i - 1]!.elapsed_ms as number);
      });
    });

    it('a denied command writes only its policy_decision, with the deciding rule', async () => {
      const before = s.lines().length;
      await s.call('ssh_run', { alias: 'web1', command: 'rm -rf /' });
      const decision = await s.waitForLine((l) => l.type === 'policy_decision' && l.hash === '5c7923bd67b0');
      expectValidLine(decision);
      expect(decision).toMatchObject({ allowed: false, rule: 'deny_substrings' });
      expect(
        s
          .lines()
          .slice(before)
          .filter((l) => l.type === 'audit'),
      ).toHaveLength(0);
    });

    it('every stderr line so far is valid JSON matching its schema', () => {
      const lines = s.lines();
      expect(lines.length).toBeGreaterThan(10);
      for (const l of lines) {
        expect(l._raw, 'non-JSON stderr line').toBeUndefined();
        expectValidLine(l);
      }
    });
  });

  describe('OTLP export to a real OTLP/HTTP receiver', () => {
    let receiver: OtlpReceiver;
    let lines: Line[] = [];
    const clientTraceId = randomBytes(16).toString('hex');
    const clientSpanId = randomBytes(8).toString('hex');

    beforeAll(async () => {
      receiver = await startOtlpReceiver();
      const s = await startSession(fleet.configDir, {
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_SERVICE_NAME: 'orchestrator-under-test',
          OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test',
        },
      });
      await s.client.callTool({
        name: 'ssh_run',
        arguments: { alias: 'web1', command: 'hostname' },
        _meta: { traceparent: `00-${clientTraceId}-${clientSpanId}-01` },
      });
      await s.call('ssh_run', { alias: 'web1', command: 'rm -rf /' });
      await s.close(); // stdin closes: the server flushes OTel before it exits
      lines = s.lines();
    });
    afterAll(async () => {
      await receiver?.close();
    });

    it('exports spans: tools/call → ssh_task → connect/run/done, parented on the client traceparent', () => {
      const inTrace = receiver.spans.filter((sp) => sp.traceId === clientTraceId);
      const tool = inTrace.find((sp) => sp.name === 'tools/call ssh_run');
      expect(tool, JSON.stringify(receiver.spans.map((sp) => sp.name))).toBeDefined();
      expect(tool?.parentSpanId).toBe(clientSpanId);
      expect(tool?.kind).toBe(2); // SERVER
      expect(tool?.attributes).toMatchObject({
        'mcp.method.name': 'tools/call',
        'gen_ai.tool.name': 'ssh_run',
        'gen_ai.operation.name': 'execute_tool',
      });
      const task = inTrace.find((sp) => sp.name === 'ssh_task');
      expect(task?.parentSpanId).toBe(tool?.spanId);
      expect(task?.attributes).toMatchObject({
        'mcp_ssh.alias': 'web1',
        'mcp_ssh.command.hash': '7063dece7ccc',
        'server.port': sshd.port,
        'process.exit.code': 0,
      });
      for (const child of ['connect', 'run', 'done']) {
        expect(inTrace.find((sp) => sp.name === child)?.parentSpanId, child).toBe(task?.spanId);
      }
      expect(receiver.resources[0]).toMatchObject({
        'service.name': 'orchestrator-under-test',
        'deployment.environment': 'test',
      });
    });

    it('exports one log record per stderr line, with the same trace and span ids', () => {
      const stderrAudit = lines.find((l) => l.type === 'audit') as Line;
      expect(stderrAudit.trace_id).toBe(clientTraceId);
      const record = receiver.logs.find((r) => r.eventName === 'mcp_ssh.audit');
      expect(record).toBeDefined();
      expect(record?.traceId).toBe(stderrAudit.trace_id);
      expect(record?.spanId).toBe(stderrAudit.span_id);
      expect(record?.spanId).toBe(receiver.spans.find((sp) => sp.name === 'done')?.spanId);
      expect(record?.severityText).toBe('INFO');
      expect(record?.attributes).toMatchObject({
        'network.peer.address': '127.0.0.1',
        'server.address': '127.0.0.1',
        'server.port': sshd.port,
        'process.exit.code': 0,
        'mcp_ssh.alias': 'web1',
        'mcp_ssh.hash': '7063dece7ccc',
      });
      expect(JSON.parse(record?.body?.stringValue ?? '{}')).toEqual(stderrAudit);
      const denied = receiver.logs.find(
        (r) => r.eventName === 'mcp_ssh.policy_decision' && r.attributes['mcp_ssh.allowed'] === false,
      );
      expect(denied?.severityText).toBe('WARN');
      // Same events on both paths.
      const stderrTypes = lines.map((l) => l.type).sort();
      const otelTypes = receiver.logs.map((r) => r.eventName?.replace('mcp_ssh.', '')).sort();
      expect(otelTypes).toEqual(stderrTypes);
    });
  });

  describe.each([
    [
      'refuses connections',
      async () => ({ url: `http://127.0.0.1:${await freePort()}`, close: async () => undefined }),
    ],
    ['never answers', async () => startOtlpReceiver('hang')],
  ])('a collector that %s', (_name, makeCollector) => {
    it('costs no command and no stderr line', async () => {
      const collector = await makeCollector();
      const s = await startSession(fleet.configDir, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } });
      try {
        for (let i = 0; i < 3; i++) {
          const r = await s.call('ssh_run', { alias: 'web1', command: `echo ${i}` });
          expect(r.structuredContent).toMatchObject({ exit_code: 0, stdout: `${i}\n` });
        }
        // A command's trace line is its last on stderr, after its policy_decision and audit.
        await s.waitForLines((l) => l.type === 'trace', 3);
        const lines = s.lines();
        expect(lines.filter((l) => l.type === 'policy_decision')).toHaveLength(3);
        expect(lines.filter((l) => l.type === 'audit')).toHaveLength(3);
        expect(lines.filter((l) => l.type === 'trace')).toHaveLength(3);
      } finally {
        await s.close();
        await collector.close();
      }
      // After shutdown (bounded OTel flush) the audit lines are all still there, nothing non-JSON.
      expect(s.lines().every((l) => l._raw === undefined)).toBe(true);
    });
  });
  describe('over gRPC, a collector that accepts connections and never answers', () => {
    it('costs no command and no stderr line; OTEL_EXPORTER_OTLP_TIMEOUT bounds each export', async () => {
      // A TCP listener that never speaks HTTP/2 back: every gRPC call waits for its deadline.
      const sockets = new Set<Socket>();
      let connections = 0;
      const silent = createServer((socket) => {
        connections++;
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
      const port = (silent.address() as { port: number }).port;
      const s = await startSession(fleet.configDir, {
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
          OTEL_EXPORTER_OTLP_TIMEOUT: '500',
          OTEL_BLRP_SCHEDULE_DELAY: '100',
          OTEL_BSP_SCHEDULE_DELAY: '100',
        },
      });
      try {
        for (let i = 0; i < 3; i++) {
          const r = await s.call('ssh_run', { alias: 'web1', command: `echo ${i}` });
          expect(r.structuredContent).toMatchObject({ exit_code: 0, stdout: `${i}\n` });
        }
        // The exporter gave up after its 0.5 s deadline and said so, as a JSON line.
        const warning = await s.waitForLine(
          (l) => l.msg === 'otel_warning' && /DEADLINE_EXCEEDED|Deadline exceeded/i.test(String(l.error)),
          15_000,
        );
        expect(warning.level).toBe('warn');
        expect(connections).toBeGreaterThan(0); // it did connect: gRPC was spoken to this port
        await s.waitForLines((l) => l.type === 'audit', 3);
        const lines = s.lines();
        expect(lines.filter((l) => l.type === 'audit')).toHaveLength(3);
      } finally {
        await s.close();
        for (const socket of sockets) socket.destroy();
        silent.close();
      }
      expect(s.lines().every((l) => l._raw === undefined)).toBe(true);
    });
  });
});
