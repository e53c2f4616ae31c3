/**
 * Host-key types (issue 14, item 3): real OpenSSH sshd instances holding ed25519, RSA and ECDSA
 * host keys, and a known_hosts file that knows only some of them. The orchestrator must offer
 * the types known_hosts holds first, as OpenSSH does, so a valid RSA or ECDSA entry connects
 * instead of raising a false HOST KEY MISMATCH; another key of a known type is still a
 * mismatch, and so (as in OpenSSH) is a key of another type when the server holds none of the
 * known types; a host with no entry is "unknown". The real `ssh` client, run against the same
 * file, is the oracle for every case.
 */
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { startSession, textOf, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

const run = promisify(execFile);

type Line = Record<string, unknown>;

/** Generates a key with the real ssh-keygen and returns its public half as `type base64`. */
function keygen(path: string, type: 'rsa' | 'ecdsa' | 'ed25519'): string {
  const args = ['-q', '-t', type, '-N', '', '-f', path, '-C', ''];
  if (type === 'rsa') args.push('-b', '3072');
  if (type === 'ecdsa') args.push('-b', '256');
  execFileSync('ssh-keygen', args, { stdio: 'ignore' });
  const [keyType, b64] = readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/);
  return `${keyType} ${b64}`;
}

/**
 * An sshd that holds its ed25519 host key plus the `extra` types (the helper starts it with
 * ed25519 only); returns the public host keys by type.
 */
async function sshdWithHostKeys(extra: ('rsa' | 'ecdsa')[]): Promise<{ sshd: TestSshd; keys: Record<string, string> }> {
  // DEBUG: sshd then logs the negotiated host key algorithm of every connection.
  const sshd = await startSshd({ hostKeyType: 'ed25519', logLevel: 'DEBUG' });
  const [type, b64] = sshd.hostKeyPub.split(/\s+/);
  const keys: Record<string, string> = { ed25519: `${type} ${b64}` };
  for (const t of extra) {
    const path = join(sshd.dir, `ssh_host_${t}_key`);
    keys[t] = keygen(path, t);
    appendFileSync(join(sshd.dir, 'sshd_config'), `HostKey ${path}\n`);
  }
  await sshd.restart();
  return { sshd, keys };
}

/** The host key algorithms sshd negotiated, in connection order (from its DEBUG log). */
function negotiated(sshd: TestSshd): string[] {
  return [...sshd.log().matchAll(/kex: host key algorithm: (\S+)/g)].map((m) => m[1] ?? '');
}

describe('known_hosts that knows some of the host key types a server offers', () => {
  const sshds: Record<string, { sshd: TestSshd; keys: Record<string, string> }> = {};
  let fleet: Fleet;
  let s: McpSession;
  let wrongRsa: string;
  let absentEcdsa: string;

  beforeAll(async () => {
    const [rsa, ecdsa, hashed, changed, absent, stranger] = await Promise.all([
      sshdWithHostKeys(['rsa', 'ecdsa']),
      sshdWithHostKeys(['rsa', 'ecdsa']),
      sshdWithHostKeys(['rsa', 'ecdsa']),
      sshdWithHostKeys(['rsa', 'ecdsa']),
      // No ECDSA host key on this one.
      sshdWithHostKeys(['rsa']),
      // Not in known_hosts at all.
      sshdWithHostKeys(['rsa', 'ecdsa']),
    ]);
    Object.assign(sshds, { rsa, ecdsa, hashed, changed, absent, stranger });
    fleet = makeFleet(
      Object.values(sshds).map((x) => x.sshd),
      Object.entries(sshds).map(([alias, x]) => ({ alias, sshd: x.sshd })),
    );
    wrongRsa = keygen(join(fleet.root, 'other_rsa'), 'rsa');
    absentEcdsa = keygen(join(fleet.root, 'other_ecdsa'), 'ecdsa');
    const at = (name: keyof typeof sshds): string => `[127.0.0.1]:${sshds[name]?.sshd.port}`;
    const hashedFile = join(fleet.root, 'hashed_known_hosts');
    writeFileSync(hashedFile, `${at('hashed')} ${hashed.keys.rsa}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', hashedFile], { stdio: 'ignore' });
    const hashedLine = readFileSync(hashedFile, 'utf8').trim();
    expect(hashedLine).toMatch(/^\|1\|\S+ ssh-rsa /);
    writeFileSync(
      fleet.knownHostsPath,
      [
        `# each server holds ed25519 and RSA keys (and all but "absent" an ECDSA key); this file knows fewer`,
        // Nothing for "stranger".
        `${at('rsa')} ${rsa.keys.rsa}`,
        `${at('ecdsa')} ${ecdsa.keys.ecdsa}`,
        hashedLine,
        // Same type, another key: a changed key.
        `${at('changed')} ${wrongRsa}`,
        // A type the server does not hold at all.
        `${at('absent')} ${absentEcdsa}`,
      ].join('\n') + '\n',
    );
    s = await startSession(fleet.configDir);
  });

  afterAll(async () => {
    await s?.close();
    await Promise.all(Object.values(sshds).map((x) => x.sshd.stop()));
  });

  /** What the real OpenSSH client says about the same known_hosts file: exit code and stderr. */
  async function openssh(alias: keyof typeof sshds): Promise<{ code: number; stderr: string }> {
    const sshd = sshds[alias]?.sshd as TestSshd;
    const args = [
      '-F',
      '/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-i',
      join(fleet.keysDir, 'ed25519'),
      '-o',
      `UserKnownHostsFile=${fleet.knownHostsPath}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'UpdateHostKeys=no',
      '-p',
      String(sshd.port),
      `${sshd.username}@127.0.0.1`,
      'true',
    ];
    try {
      const r = await run('ssh', args, { timeout: 20_000 });
      return { code: 0, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? '' };
    }
  }

  async function hostKeyEvent(alias: string): Promise<Line> {
    return s.waitForLine((l) => l.type === 'security_event' && l.alias === alias);
  }

  it.each([
    ['rsa', 'rsa-sha2-512'],
    ['ecdsa', 'ecdsa-sha2-nistp256'],
    ['hashed', 'rsa-sha2-512'],
  ] as const)('known_hosts with only the %s key of the host: the command runs', async (alias, algorithm) => {
    expect((await openssh(alias)).code, 'OpenSSH connects with this file').toBe(0);
    const r = await s.call('ssh_run', { alias, command: 'echo hello' });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ alias, exit_code: 0, stdout: 'hello\n' });
    // Both clients had sshd present the known key type (RSA with SHA-2 signatures, not SHA-1).
    expect(negotiated(sshds[alias]?.sshd as TestSshd)).toEqual([algorithm, algorithm]);
    // A security event would come before the call's audit line.
    await s.waitForLine((l) => l.type === 'audit' && l.alias === alias);
    expect(s.lines().filter((l) => l.type === 'security_event' && l.alias === alias)).toEqual([]);
  });

  it('a different RSA key than the one known (same type) is still a HOST KEY MISMATCH', async () => {
    const ossh = await openssh('changed');
    expect(ossh.code).toBe(255);
    expect(ossh.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    const r = await s.call('ssh_run', { alias: 'changed', command: 'echo hello' });
    expect(r.isError).toBe(true);
    // The message names the key the server offered, as `ssh-keygen -l` prints its fingerprint.
    const fp = execFileSync('ssh-keygen', [
      '-l',
      '-E',
      'sha256',
      '-f',
      join(sshds.changed?.sshd.dir ?? '', 'ssh_host_rsa_key.pub'),
    ])
      .toString()
      .split(' ')[1];
    expect(textOf(r)).toMatch(/HOST KEY MISMATCH for \[127\.0\.0\.1\]:\d+: the server offered ssh-rsa SHA256:/);
    expect(textOf(r)).toContain(`ssh-rsa ${fp}`);
    expect(textOf(r)).toContain(fleet.knownHostsPath);
    expect(await hostKeyEvent('changed')).toMatchObject({
      kind: 'security_audit',
      event_type: 'host_key_mismatch',
      reason: 'host_key_mismatch',
    });
    expect(negotiated(sshds.changed?.sshd as TestSshd)).toEqual(['rsa-sha2-512', 'rsa-sha2-512']);
  });

  it('a known key of a type the server does not hold: the key it offers is a changed key, as OpenSSH says', async () => {
    // OpenSSH (hostfile.c): no key matches but one of another type is known → HOST_CHANGED.
    const ossh = await openssh('absent');
    expect(ossh.code).toBe(255);
    expect(ossh.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    const r = await s.call('ssh_run', { alias: 'absent', command: 'echo hello' });
    expect(r.isError).toBe(true);
    // It names what the server offered, what the file holds for the host, and the file.
    expect(textOf(r)).toMatch(
      /HOST KEY MISMATCH for \[127\.0\.0\.1\]:\d+: the server offered ssh-ed25519 SHA256:\S+, but \S+known_hosts holds only ecdsa-sha2-nistp256 keys for it and the server presented none of those types/,
    );
    expect(textOf(r)).toContain(fleet.knownHostsPath);
    expect(await hostKeyEvent('absent')).toMatchObject({
      kind: 'security_audit',
      event_type: 'host_key_mismatch',
      reason: 'host_key_mismatch',
    });
    // Asked for ECDSA first, which this server lacks, it settled on the next type offered.
    expect(negotiated(sshds.absent?.sshd as TestSshd)).toEqual(['ssh-ed25519', 'ssh-ed25519']);
  });

  it('no entry for the host: ssh2 offers its defaults and the key is unknown, as OpenSSH says', async () => {
    const ossh = await openssh('stranger');
    expect(ossh.code).toBe(255);
    expect(ossh.stderr).toMatch(/No ED25519 host key is known for/);
    const r = await s.call('ssh_run', { alias: 'stranger', command: 'echo hello' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(
      /host key for \[127\.0\.0\.1\]:\d+ is not in \S+known_hosts \(server offered ssh-ed25519 SHA256:\S+\); verify the fingerprint out of band and add it with `ssh-keyscan/,
    );
    expect(await hostKeyEvent('stranger')).toMatchObject({
      kind: 'security_audit',
      event_type: 'host_key_mismatch',
      reason: 'host_key_unknown',
    });
    expect(negotiated(sshds.stranger?.sshd as TestSshd)).toEqual(['ssh-ed25519', 'ssh-ed25519']);
  });
});
