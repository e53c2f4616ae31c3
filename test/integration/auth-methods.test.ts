/**
 * Authentication methods beyond plain key files, against real OpenSSH: password logins (root
 * only: it needs a password on the test login account), a real ssh-agent, and secrets taken
 * from MCP_SSH_SECRET_<NAME> environment variables.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet, type FleetHost } from '../helpers/fleet.js';
import { startSession, textOf } from '../helpers/mcp-session.js';
import { setLoginPassword, startSshd, type TestSshd } from '../helpers/sshd.js';

const IS_ROOT = process.getuid?.() === 0;

/** A fleet whose credentials.yml holds exactly `entries` (username filled in). */
function fleetWith(sshd: TestSshd, entries: Record<string, unknown>[], hosts: FleetHost[]): Fleet {
  const fleet = makeFleet([sshd], hosts);
  writeFileSync(
    join(fleet.configDir, 'credentials.yml'),
    stringify({ entries: entries.map((e) => ({ username: sshd.username, ...e })) }),
  );
  return fleet;
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!IS_ROOT)('password authentication (root only: it sets a password on the test login account)', () => {
  const password = `pw-${process.pid}-${Date.now()}`;
  let sshd: TestSshd;
  let fleet: Fleet;

  beforeAll(async () => {
    setLoginPassword(password);
    sshd = await startSshd({ passwordAuth: true, logLevel: 'INFO' });
    fleet = fleetWith(
      sshd,
      [
        { name: 'pw', password_secret: 'login_pw' },
        { name: 'pw_wrong', password_secret: 'wrong_pw' },
        { name: 'pw_env', password_secret: 'env-pw' },
      ],
      [
        { alias: 'pw', sshd, credentials: 'pw' },
        { alias: 'pw_wrong', sshd, credentials: 'pw_wrong' },
        { alias: 'pw_env', sshd, credentials: 'pw_env' },
      ],
    );
    writeFileSync(join(fleet.secretsDir, 'login_pw'), `${password}\n`, { mode: 0o600 });
    writeFileSync(join(fleet.secretsDir, 'wrong_pw'), 'not-the-password\n', { mode: 0o600 });
  });

  afterAll(async () => {
    await sshd?.stop();
    setLoginPassword(undefined);
  });

  it('logs in with the password from password_secret (the file, without its final newline)', async () => {
    const s = await startSession(fleet.configDir);
    try {
      const r = await s.call('ssh_run', { alias: 'pw', command: 'whoami' });
      expect(r.isError, textOf(r)).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ exit_code: 0, stdout: `${sshd.username}\n` });
      await waitUntil(() => /^Accepted password for /m.test(sshd.log()), 'sshd to log the password login');
      expect(sshd.log()).not.toMatch(/^Accepted publickey for /m);
    } finally {
      await s.close();
    }
  });

  it('a wrong password is a tool error and an authentication_failed event, and never appears on stderr', async () => {
    const s = await startSession(fleet.configDir);
    try {
      const r = await s.call('ssh_run', { alias: 'pw_wrong', command: 'whoami' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/authentication failed for user "[^"]+" on 127\.0\.0\.1:\d+/);
      await s.waitForLine((l) => l.event_type === 'authentication_failed' && l.alias === 'pw_wrong');
      // The run_exception line with the error text follows the event; the audit line follows both.
      await s.waitForLine((l) => l.type === 'audit' && l.alias === 'pw_wrong');
      expect(s.rawStderr()).not.toContain('not-the-password');
      expect(s.rawStderr()).not.toContain(password);
    } finally {
      await s.close();
    }
  });

  it('takes the password from MCP_SSH_SECRET_<NAME> when no secret file exists', async () => {
    const without = await startSession(fleet.configDir);
    try {
      const r = await without.call('ssh_run', { alias: 'pw_env', command: 'whoami' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain(
        'secret "env-pw" not found; looked in, in order: the environment variables env-pw, ENV-PW, MCP_SSH_SECRET_ENV_PW',
      );
    } finally {
      await without.close();
    }
    const s = await startSession(fleet.configDir, { env: { MCP_SSH_SECRET_ENV_PW: password } });
    try {
      const r = await s.call('ssh_run', { alias: 'pw_env', command: 'whoami' });
      expect(r.structuredContent, textOf(r)).toMatchObject({ exit_code: 0, stdout: `${sshd.username}\n` });
      await s.waitForLine((l) => l.type === 'audit' && l.alias === 'pw_env');
      expect(s.rawStderr()).not.toContain(password);
    } finally {
      await s.close();
    }
  });
});

describe('ssh-agent authentication (use_agent: true)', () => {
  let sshd: TestSshd;
  let fleet: Fleet;
  let agent: ChildProcess;
  let emptyAgent: ChildProcess;
  let sock: string;
  let emptySock: string;

  async function startAgent(path: string): Promise<ChildProcess> {
    const proc = spawn('ssh-agent', ['-D', '-a', path], { stdio: 'ignore' });
    await waitUntil(() => existsSync(path) || proc.exitCode !== null, `ssh-agent to listen on ${path}`);
    if (proc.exitCode !== null) throw new Error(`ssh-agent exited with ${proc.exitCode}`);
    return proc;
  }

  beforeAll(async () => {
    sshd = await startSshd({ logLevel: 'INFO' });
    const dir = mkdtempSync(join(tmpdir(), 'mcp-ssh-agent-'));
    sock = join(dir, 'agent.sock');
    emptySock = join(dir, 'empty.sock');
    [agent, emptyAgent] = await Promise.all([startAgent(sock), startAgent(emptySock)]);
    execFileSync('ssh-add', ['-q', sshd.userKeys.ed25519], {
      env: { PATH: process.env.PATH ?? '', SSH_AUTH_SOCK: sock },
      stdio: 'ignore',
    });
    // The agent really holds the key: ssh-add -l lists its fingerprint.
    const listed = execFileSync('ssh-add', ['-l'], {
      env: { PATH: process.env.PATH ?? '', SSH_AUTH_SOCK: sock },
      encoding: 'utf8',
    });
    expect(listed).toContain('test-ed25519');
    // use_agent only: no key_path, so the key can come from nowhere but the agent.
    fleet = fleetWith(sshd, [{ name: 'agent', use_agent: true }], [{ alias: 'agent', sshd, credentials: 'agent' }]);
  });

  afterAll(async () => {
    agent?.kill('SIGTERM');
    emptyAgent?.kill('SIGTERM');
    await sshd?.stop();
  });

  it('authenticates with the key held by the agent at SSH_AUTH_SOCK', async () => {
    const s = await startSession(fleet.configDir, { env: { SSH_AUTH_SOCK: sock } });
    try {
      const r = await s.call('ssh_run', { alias: 'agent', command: 'echo via-agent' });
      expect(r.isError, textOf(r)).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ exit_code: 0, stdout: 'via-agent\n' });
      await waitUntil(() => /^Accepted publickey for .* ED25519/m.test(sshd.log()), 'sshd to log the login');
    } finally {
      await s.close();
    }
  });

  it('without SSH_AUTH_SOCK the tool error says the agent socket is missing', async () => {
    const s = await startSession(fleet.configDir);
    try {
      const r = await s.call('ssh_run', { alias: 'agent', command: 'echo via-agent' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain('credentials "agent" use the ssh-agent but SSH_AUTH_SOCK is not set');
      await s.waitForLine((l) => l.type === 'audit' && l.alias === 'agent');
      expect(s.lines()).toContainEqual(
        expect.objectContaining({ type: 'audit', alias: 'agent', exit_code: -1, target_ip: '127.0.0.1' }),
      );
    } finally {
      await s.close();
    }
  });

  it('SSH_AUTH_SOCK naming no agent is a tool error naming the socket, and the server survives it', async () => {
    const missing = join(tmpdir(), `no-agent-${process.pid}.sock`);
    const s = await startSession(fleet.configDir, { env: { SSH_AUTH_SOCK: missing } });
    try {
      const r = await s.call('ssh_run', { alias: 'agent', command: 'echo via-agent' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain(`cannot use the ssh-agent at ${missing}`);
      expect(textOf(r)).toContain('check that SSH_AUTH_SOCK names a running agent');
      await s.waitForLine((l) => l.type === 'audit' && l.alias === 'agent');
      expect(s.lines()).toContainEqual(expect.objectContaining({ type: 'audit', alias: 'agent', exit_code: -1 }));
      // ssh2 reports the agent failure and then the failed login; an unheard second error used to
      // crash the server before it could even answer.
      expect((await s.call('ssh_ping')).structuredContent).toMatchObject({ ok: true });
    } finally {
      await s.close();
    }
  });

  it('an agent without the key is an authentication failure, not a hang', async () => {
    const s = await startSession(fleet.configDir, { env: { SSH_AUTH_SOCK: emptySock } });
    try {
      const r = await s.call('ssh_run', { alias: 'agent', command: 'echo via-agent' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/authentication failed for user/);
      await s.waitForLine((l) => l.event_type === 'authentication_failed' && l.alias === 'agent');
    } finally {
      await s.close();
    }
  });
});

describe('secrets from MCP_SSH_SECRET_<NAME>', () => {
  let sshd: TestSshd;
  let fleet: Fleet;

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = fleetWith(
      sshd,
      [
        { name: 'env_only', key_path: 'ed25519_pass', key_passphrase_secret: 'vault-pass' },
        { name: 'env_wins', key_path: 'ed25519_pass', key_passphrase_secret: 'stale_pass' },
      ],
      [
        { alias: 'env_only', sshd, credentials: 'env_only' },
        { alias: 'env_wins', sshd, credentials: 'env_wins' },
      ],
    );
    // A secret file with a stale value: the environment variable must win over it.
    writeFileSync(join(fleet.secretsDir, 'stale_pass'), 'stale passphrase\n', { mode: 0o600 });
  });

  afterAll(async () => {
    await sshd?.stop();
  });

  it('the key passphrase comes from MCP_SSH_SECRET_VAULT_PASS for secret "vault-pass"', async () => {
    const s = await startSession(fleet.configDir, { env: { MCP_SSH_SECRET_VAULT_PASS: sshd.passphrase } });
    try {
      const r = await s.call('ssh_run', { alias: 'env_only', command: 'echo unlocked' });
      expect(r.isError, textOf(r)).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ exit_code: 0, stdout: 'unlocked\n' });
      await s.waitForLine((l) => l.type === 'audit' && l.alias === 'env_only');
      expect(s.rawStderr()).not.toContain(sshd.passphrase);
    } finally {
      await s.close();
    }
  });

  it('the environment wins over a secret file', async () => {
    const s = await startSession(fleet.configDir, { env: { MCP_SSH_SECRET_STALE_PASS: sshd.passphrase } });
    try {
      const r = await s.call('ssh_run', { alias: 'env_wins', command: 'echo unlocked' });
      expect(r.structuredContent, textOf(r)).toMatchObject({ exit_code: 0, stdout: 'unlocked\n' });
    } finally {
      await s.close();
    }
  });

  it('without the variable: a missing secret names every place looked in; a stale one fails to decrypt', async () => {
    const s = await startSession(fleet.configDir);
    try {
      const missing = await s.call('ssh_run', { alias: 'env_only', command: 'echo unlocked' });
      expect(missing.isError).toBe(true);
      expect(textOf(missing)).toContain(
        `secret "vault-pass" not found; looked in, in order: the environment variables vault-pass, VAULT-PASS, ` +
          `MCP_SSH_SECRET_VAULT_PASS (none set), the key vault-pass or VAULT-PASS in ${join(fleet.secretsDir, '.env')} ` +
          `(no such file), the file ${join(fleet.secretsDir, 'vault-pass')} (no such file)`,
      );
      const stale = await s.call('ssh_run', { alias: 'env_wins', command: 'echo unlocked' });
      expect(stale.isError).toBe(true);
      expect(textOf(stale)).toMatch(/cannot use the private key for user "[^"]+".*key_passphrase_secret/);
      await s.waitForLine((l) => l.type === 'audit' && l.alias === 'env_wins');
      expect(s.rawStderr()).not.toContain('stale passphrase');
    } finally {
      await s.close();
    }
  });
});
