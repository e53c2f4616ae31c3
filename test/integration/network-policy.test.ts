/**
 * The network policy in front of real sshd instances: refused addresses never see a TCP
 * connection (sshd runs at LogLevel VERBOSE, which logs every accepted connection), host names
 * are resolved and each address is judged, and ssh_plan reports the verdict without dialling.
 */
import { promises as dns } from 'node:dns';
import { appendFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_POLICY, makeFleet, type Fleet, type FleetHost } from '../helpers/fleet.js';
import { startSession, textOf, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The "Connection from" lines sshd logged while `fn` ran. A raw TCP probe afterwards is the
 * positive control: sshd logs accepted connections in order, so once the probe's line is there,
 * any connection `fn` made is logged before it.
 */
async function connectionsDuring(sshd: TestSshd, fn: () => Promise<void>): Promise<string[]> {
  const start = sshd.log().length;
  await fn();
  const probePort = await new Promise<number>((resolve, reject) => {
    const sock = connect({ host: sshd.address, port: sshd.port });
    sock.once('connect', () => {
      const port = sock.localPort ?? 0;
      sock.destroy();
      resolve(port);
    });
    sock.once('error', reject);
  });
  const probeLine = `Connection from ${sshd.address} port ${probePort} on`;
  await waitUntil(() => sshd.log().slice(start).includes(probeLine), `sshd to log the probe connection`);
  return sshd
    .log()
    .slice(start)
    .split('\n')
    .filter((l) => l.startsWith('Connection from') && !l.startsWith(probeLine));
}

describe('network policy before connecting, against real sshd instances', () => {
  let sshd: TestSshd;
  let sshd6: TestSshd;

  beforeAll(async () => {
    [sshd, sshd6] = await Promise.all([
      startSshd({ logLevel: 'VERBOSE' }),
      startSshd({ address: '::1', logLevel: 'VERBOSE' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), sshd6?.stop()]);
  });

  async function withSession(
    network: Record<string, unknown>,
    hosts: (fleet: { sshd: TestSshd; sshd6: TestSshd }) => FleetHost[],
    fn: (s: McpSession, fleet: Fleet) => Promise<void>,
  ): Promise<void> {
    const fleet = makeFleet([sshd, sshd6], hosts({ sshd, sshd6 }), { ...DEFAULT_TEST_POLICY, network });
    const s = await startSession(fleet.configDir);
    try {
      await fn(s, fleet);
    } finally {
      await s.close();
    }
  }

  it('the connection counter sees a connection that is allowed (control for the tests below)', async () => {
    await withSession(
      {},
      () => [{ alias: 'lo4', sshd }],
      async (s) => {
        const during = await connectionsDuring(sshd, async () => {
          const r = await s.call('ssh_run', { alias: 'lo4', command: 'echo reached' });
          expect(r.structuredContent, textOf(r)).toMatchObject({ exit_code: 0, stdout: 'reached\n' });
        });
        expect(during).toHaveLength(1);
      },
    );
  });

  it('block_ips refuses 127.0.0.1 before any TCP connection, names the address and the fix, audits exit_code -1', async () => {
    await withSession(
      { block_ips: ['127.0.0.1'] },
      () => [{ alias: 'lo4', sshd }],
      async (s) => {
        let r: Awaited<ReturnType<McpSession['call']>> | undefined;
        const during = await connectionsDuring(sshd, async () => {
          r = await s.call('ssh_run', { alias: 'lo4', command: 'echo never' });
        });
        expect(during).toEqual([]);
        expect(r?.isError).toBe(true);
        const text = textOf(r!);
        expect(text).toContain('no address of 127.0.0.1 is allowed by the network policy');
        expect(text).toContain('127.0.0.1: 127.0.0.1 is in network.block_ips or network.block_cidrs');
        expect(text).toContain('adjust network.allow_*/block_* in policy.yml');
        expect(r?.structuredContent).toMatchObject({ alias: 'lo4', exit_code: -1, target_ip: null, stdout: '' });
        const taskId = (r?.structuredContent as { task_id: string }).task_id;
        await s.waitForLine((l) => l.type === 'audit' && l.task_id === taskId);
        const lines = s.lines().filter((l) => l.task_id === taskId);
        expect(lines).toContainEqual(
          expect.objectContaining({ type: 'policy_decision', alias: 'lo4', allowed: true, rule: 'read-only' }),
        );
        expect(lines).toContainEqual(
          expect.objectContaining({
            type: 'audit',
            alias: 'lo4',
            exit_code: -1,
            target_ip: null,
            cancelled: false,
            timeout: false,
            bytes_out: 0,
          }),
        );
        // It never got past "connecting", and no SSH-level event was possible.
        expect(lines.filter((l) => l.type === 'progress').map((l) => l.phase)).toEqual(['connecting']);
        expect(s.lines().filter((l) => l.type === 'security_event')).toEqual([]);
      },
    );
  });

  it('allow_cidrs 10.0.0.0/8 refuses 127.0.0.1 without connecting', async () => {
    await withSession(
      { allow_cidrs: ['10.0.0.0/8'] },
      () => [{ alias: 'lo4', sshd }],
      async (s) => {
        let r: Awaited<ReturnType<McpSession['call']>> | undefined;
        const during = await connectionsDuring(sshd, async () => {
          r = await s.call('ssh_run', { alias: 'lo4', command: 'echo never' });
        });
        expect(during).toEqual([]);
        expect(r?.isError).toBe(true);
        expect(textOf(r!)).toContain('127.0.0.1: 127.0.0.1 is not in network.allow_ips or network.allow_cidrs');
        expect(textOf(r!)).toContain('policy.yml');
        await s.waitForLine((l) => l.type === 'audit' && l.alias === 'lo4');
        expect(s.lines()).toContainEqual(
          expect.objectContaining({ type: 'audit', alias: 'lo4', exit_code: -1, target_ip: null }),
        );
      },
    );
  });

  it('block_cidrs ::1/128 refuses the IPv6 alias without connecting while the IPv4 alias runs', async () => {
    await withSession(
      { block_cidrs: ['::1/128'] },
      () => [
        { alias: 'lo6', sshd: sshd6 },
        { alias: 'lo4', sshd },
      ],
      async (s) => {
        let r6: Awaited<ReturnType<McpSession['call']>> | undefined;
        const during6 = await connectionsDuring(sshd6, async () => {
          r6 = await s.call('ssh_run', { alias: 'lo6', command: 'echo never' });
        });
        expect(during6).toEqual([]);
        expect(r6?.isError).toBe(true);
        expect(textOf(r6!)).toContain('no address of ::1 is allowed');
        expect(textOf(r6!)).toContain('::1: ::1 is in network.block_ips or network.block_cidrs');
        await s.waitForLine((l) => l.type === 'audit' && l.alias === 'lo6');
        expect(s.lines()).toContainEqual(
          expect.objectContaining({ type: 'audit', alias: 'lo6', exit_code: -1, target_ip: null }),
        );
        const during4 = await connectionsDuring(sshd, async () => {
          const r4 = await s.call('ssh_run', { alias: 'lo4', command: 'echo four' });
          expect(r4.structuredContent, textOf(r4)).toMatchObject({ stdout: 'four\n', target_ip: '127.0.0.1' });
        });
        expect(during4).toHaveLength(1);
      },
    );
  });

  it('a host given as the DNS name localhost is resolved and every address is judged', async () => {
    const expected = (await dns.lookup('localhost', { all: true })).map((a) => a.address);
    expect(expected).toContain('127.0.0.1');
    await withSession(
      { block_cidrs: ['::1/128'] },
      () => [{ alias: 'named', sshd, host: 'localhost' }],
      async (s, fleet) => {
        // Host keys are looked up under the configured name, not the address.
        const [, type, key] = sshd.knownHostsLine.split(' ');
        appendFileSync(fleet.knownHostsPath, `[localhost]:${sshd.port} ${type} ${key}\n`);
        expect((await s.call('ssh_reload_config')).isError).toBeFalsy();

        const plan = await s.call('ssh_plan', { alias: 'named', command: 'echo by-name' });
        const planned = plan.structuredContent as {
          resolved_ips: string[];
          network: { ip: string; allowed: boolean; reason: string }[];
          would_run: boolean;
        };
        expect(planned.resolved_ips).toEqual(expected);
        expect(planned.network).toEqual(
          expected.map((ip) =>
            ip.includes(':')
              ? { ip, allowed: false, reason: `${ip} is in network.block_ips or network.block_cidrs.` }
              : { ip, allowed: true, reason: `${ip} is not blocked and no allow list is set.` },
          ),
        );
        expect(planned.would_run).toBe(true);

        // Whatever order the resolver gives, the blocked ::1 is skipped and 127.0.0.1 is dialled.
        const r = await s.call('ssh_run', { alias: 'named', command: 'echo by-name' });
        expect(r.structuredContent, textOf(r)).toMatchObject({
          exit_code: 0,
          stdout: 'by-name\n',
          target_ip: '127.0.0.1',
        });

        // Every address blocked: the plan says so, and the run names each refused address.
        fleet.writePolicy({ ...DEFAULT_TEST_POLICY, network: { block_ips: ['127.0.0.1', '::1'] } });
        expect((await s.call('ssh_reload_config')).isError).toBeFalsy();
        const blockedPlan = await s.call('ssh_plan', { alias: 'named', command: 'echo by-name' });
        expect(blockedPlan.structuredContent).toMatchObject({ resolved_ips: expected, would_run: false });
        expect(
          (blockedPlan.structuredContent as { network: { allowed: boolean }[] }).network.every((n) => !n.allowed),
        ).toBe(true);
        let refused: Awaited<ReturnType<McpSession['call']>> | undefined;
        const during = await connectionsDuring(sshd, async () => {
          refused = await s.call('ssh_run', { alias: 'named', command: 'echo by-name' });
        });
        expect(during).toEqual([]);
        expect(refused?.isError).toBe(true);
        expect(textOf(refused!)).toContain('no address of localhost is allowed by the network policy');
        for (const ip of expected) expect(textOf(refused!)).toContain(`${ip}: ${ip} is in network.block_ips`);
      },
    );
  });

  it('ssh_plan reports the network verdict per address without connecting or auditing', async () => {
    await withSession(
      { block_ips: ['127.0.0.1'] },
      () => [
        { alias: 'lo4', sshd },
        { alias: 'lo6', sshd: sshd6 },
      ],
      async (s) => {
        let blocked: Awaited<ReturnType<McpSession['call']>> | undefined;
        let open: Awaited<ReturnType<McpSession['call']>> | undefined;
        const during4 = await connectionsDuring(sshd, async () => {
          blocked = await s.call('ssh_plan', { alias: 'lo4', command: 'uptime' });
        });
        const during6 = await connectionsDuring(sshd6, async () => {
          open = await s.call('ssh_plan', { alias: 'lo6', command: 'uptime' });
        });
        expect(during4).toEqual([]);
        expect(during6).toEqual([]);
        expect(blocked?.isError).toBeFalsy();
        expect(blocked?.structuredContent).toMatchObject({
          alias: 'lo4',
          allowed: true,
          rule: 'read-only',
          resolved_ips: ['127.0.0.1'],
          network: [
            { ip: '127.0.0.1', allowed: false, reason: '127.0.0.1 is in network.block_ips or network.block_cidrs.' },
          ],
          would_run: false,
        });
        expect(textOf(blocked!)).toMatch(/network: 127\.0\.0\.1 blocked \(.*block_ips/);
        expect(textOf(blocked!)).toContain('would run: no');
        expect(open?.structuredContent).toMatchObject({
          alias: 'lo6',
          resolved_ips: ['::1'],
          network: [{ ip: '::1', allowed: true }],
          would_run: true,
        });
        // A dry run runs nothing: no task, no progress, no audit.
        expect(s.lines().filter((l) => ['audit', 'progress', 'policy_decision'].includes(String(l.type)))).toEqual([]);
      },
    );
  });

  it('hosts given as 0.0.0.0 or :: (which reach this machine) are refused by ssh_plan and ssh_run alike, without connecting', async () => {
    await withSession(
      {},
      () => [
        { alias: 'any4', sshd, host: '0.0.0.0' },
        { alias: 'any6', sshd: sshd6, host: '::' },
      ],
      async (s) => {
        for (const [alias, server, ip] of [
          ['any4', sshd, '0.0.0.0'],
          ['any6', sshd6, '::'],
        ] as const) {
          let plan: Awaited<ReturnType<McpSession['call']>> | undefined;
          let run: Awaited<ReturnType<McpSession['call']>> | undefined;
          const during = await connectionsDuring(server, async () => {
            plan = await s.call('ssh_plan', { alias, command: 'uptime' });
            run = await s.call('ssh_run', { alias, command: 'uptime' });
          });
          expect(during).toEqual([]);
          expect(plan?.structuredContent).toMatchObject({
            allowed: true,
            network: [{ ip, allowed: false, reason: expect.stringContaining('unspecified address') }],
            would_run: false,
          });
          expect(run?.isError).toBe(true);
          expect(textOf(run!)).toContain(`${ip} is the unspecified address`);
        }
      },
    );
  });
});
