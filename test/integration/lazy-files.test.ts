/**
 * Files a deployment provides later, as the Python server has it: a key file or known_hosts
 * that does not exist is a config warning, not a start-up error. The built server starts,
 * names the missing files on stderr (and in `check`), fails a command to an affected host at
 * connect with an error naming the file, and picks the file up once it exists (a key at the
 * next connection, known_hosts at the next reload). Secrets come from a bare environment
 * variable (as the Docker MCP Gateway passes them) and from secrets/.env.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_POLICY, makeFleet, type Fleet } from '../helpers/fleet.js';
import { CLI_PATH, startSession, textOf, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

const isConfigWarning = (l: Record<string, unknown>): boolean => l.msg === 'config_warning' && l.level === 'warn';

describe('missing key and known_hosts files are warnings, and connect-time errors', () => {
  let sshd: TestSshd;
  let fleet: Fleet;
  let laterKnownHosts: string;
  let lateKey: string;
  let s: McpSession;

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = makeFleet(
      [sshd],
      [
        { alias: 'good', sshd },
        { alias: 'late', sshd, credentials: 'late_key' },
      ],
    );
    writeFileSync(
      join(fleet.configDir, 'credentials.yml'),
      stringify({
        entries: [
          { name: 'ed25519', username: sshd.username, key_path: 'ed25519' },
          // Written the Python way: an absolute path under the keys directory, provided later.
          { name: 'late_key', username: sshd.username, key_path: join(fleet.keysDir, 'id_late') },
        ],
      }),
    );
    lateKey = join(fleet.keysDir, 'id_late');
    // As the Python examples' /app/keys/known_hosts, which exists only in their container.
    laterKnownHosts = join(fleet.keysDir, 'known_hosts.later');
    fleet.writePolicy({ ...DEFAULT_TEST_POLICY, known_hosts_path: laterKnownHosts });
    s = await startSession(fleet.configDir);
  });

  afterAll(async () => {
    await s?.close();
    await sshd?.stop();
  });

  it('starts, with one config_warning line naming each missing file', async () => {
    const keyWarning = await s.waitForLine(
      (l) => isConfigWarning(l) && String(l.error).includes(`key file ${lateKey} not found`),
    );
    expect(keyWarning.error).toMatch(/^credentials\.yml:\d+:\d+ entries\[1\]\.key_path: /);
    expect(keyWarning.error).toContain('hosts using credentials "late_key" cannot connect until the file exists');
    expect(keyWarning.issues).toEqual([
      expect.objectContaining({ file: 'credentials.yml', path: 'entries[1].key_path' }),
    ]);
    const khWarning = await s.waitForLine(
      (l) => isConfigWarning(l) && String(l.error).includes(`the known_hosts file ${laterKnownHosts} does not exist`),
    );
    expect(khWarning.error).toMatch(/^policy\.yml known_hosts_path: /);
    expect(khWarning.error).toContain('ssh-keyscan');
    expect(s.lines().filter(isConfigWarning)).toHaveLength(2);
    expect((await s.call('ssh_ping')).structuredContent).toMatchObject({ ok: true });
  });

  it('check prints the same warnings and exits 0', () => {
    const r = spawnSync(process.execPath, [CLI_PATH, 'check', '--config-dir', fleet.configDir], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
      input: '',
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^config ok: 2 hosts/);
    expect(r.stdout).toContain(`config warning: credentials.yml:`);
    expect(r.stdout).toContain(`key file ${lateKey} not found`);
    expect(r.stdout).toContain(`config warning: policy.yml known_hosts_path: the known_hosts file ${laterKnownHosts}`);
  });

  it('without known_hosts, a host with good files fails at connect: the file does not exist, no key is verified', async () => {
    const r = await s.call('ssh_run', { alias: 'good', command: 'echo hi' });
    expect(r.isError).toBe(true);
    const text = textOf(r);
    expect(text).toContain(`cannot be verified: the known_hosts file does not exist at ${laterKnownHosts}`);
    expect(text).toContain(`ssh-keyscan -p ${sshd.port} ${sshd.address} >> ${laterKnownHosts}`);
    expect(text).toContain('ssh_reload_config');
    // The same security event as any unknown host key.
    await s.waitForLine(
      (l) => l.event_type === 'host_key_mismatch' && l.alias === 'good' && l.reason === 'host_key_unknown',
    );
  });

  it('a host whose key file is missing fails at connect, naming the host, the credentials and the file', async () => {
    const r = await s.call('ssh_run', { alias: 'late', command: 'echo hi' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain(
      `cannot connect to host "late": key_path of credentials "late_key" (credentials.yml): key file ${lateKey} ` +
        'not found: put the private key there or correct key_path',
    );
    await s.waitForLine((l) => l.type === 'audit' && l.alias === 'late');
    expect(s.lines()).toContainEqual(expect.objectContaining({ type: 'audit', alias: 'late', exit_code: -1 }));
  });

  it('after known_hosts appears and the config is reloaded, the good host runs; the late key is read once it exists', async () => {
    copyFileSync(fleet.knownHostsPath, laterKnownHosts);
    const reload = await s.call('ssh_reload_config');
    expect(reload.structuredContent, textOf(reload)).toMatchObject({ reloaded: true });
    const { generation } = reload.structuredContent as { generation: number };
    const r = await s.call('ssh_run', { alias: 'good', command: 'echo hi' });
    expect(r.structuredContent, textOf(r)).toMatchObject({ exit_code: 0, stdout: 'hi\n' });
    // The reload warns again about the key only.
    await s.waitForLine((l) => l.type === 'config_reload' && l.success === true && l.generation === generation);
    const warnings = s.lines().filter(isConfigWarning);
    expect(warnings.filter((l) => String(l.error).includes('known_hosts'))).toHaveLength(1);
    expect(warnings.filter((l) => String(l.error).includes(lateKey))).toHaveLength(2);

    const stillMissing = await s.call('ssh_run', { alias: 'late', command: 'echo hi' });
    expect(textOf(stillMissing)).toContain(`key file ${lateKey} not found`);
    // The key is read at each connection: no reload needed.
    copyFileSync(join(fleet.keysDir, 'ed25519'), lateKey);
    const late = await s.call('ssh_run', { alias: 'late', command: 'echo late' });
    expect(late.structuredContent, textOf(late)).toMatchObject({ exit_code: 0, stdout: 'late\n' });
  });
});

describe('key passphrases from a bare environment variable and from secrets/.env unlock the key', () => {
  let sshd: TestSshd;
  let fleet: Fleet;

  beforeAll(async () => {
    sshd = await startSshd({ logLevel: 'INFO' });
    // The passphrase-protected key cannot be used without its passphrase, so a login proves the
    // secret was found (password logins would change the shared test account's password).
    fleet = makeFleet(
      [sshd],
      [
        { alias: 'gateway', sshd, credentials: 'gateway' },
        { alias: 'dotenv', sshd, credentials: 'dotenv' },
      ],
    );
    writeFileSync(
      join(fleet.configDir, 'credentials.yml'),
      stringify({
        entries: [
          { name: 'gateway', username: sshd.username, key_path: 'ed25519_pass', key_passphrase_secret: 'gateway_pass' },
          { name: 'dotenv', username: sshd.username, key_path: 'ed25519_pass', key_passphrase_secret: 'dotenv-pass' },
        ],
      }),
    );
    writeFileSync(
      join(fleet.secretsDir, '.env'),
      ['# secrets for the orchestrator', `export dotenv-pass="${sshd.passphrase}" # quoted: it has spaces`, ''].join(
        '\n',
      ),
      { mode: 0o600 },
    );
  });

  afterAll(async () => {
    await sshd?.stop();
  });

  it('the upper-cased bare variable (as the Docker MCP Gateway sets it) and the .env key both unlock the key', async () => {
    const s = await startSession(fleet.configDir, { env: { GATEWAY_PASS: sshd.passphrase } });
    try {
      const viaEnv = await s.call('ssh_run', { alias: 'gateway', command: 'echo via-env' });
      expect(viaEnv.structuredContent, textOf(viaEnv)).toMatchObject({ exit_code: 0, stdout: 'via-env\n' });
      const viaDotenv = await s.call('ssh_run', { alias: 'dotenv', command: 'echo via-dotenv' });
      expect(viaDotenv.structuredContent, textOf(viaDotenv)).toMatchObject({ exit_code: 0, stdout: 'via-dotenv\n' });
      // sshd's log is another pipe: it may arrive after the reply.
      await expect.poll(() => sshd.log()).toMatch(/Accepted publickey for /);
      await s.waitForLine((l) => l.type === 'audit' && l.alias === 'dotenv');
      expect(s.rawStderr()).not.toContain(sshd.passphrase);
    } finally {
      await s.close();
    }
  });

  it('without the variable, the error names every place looked in, in order', async () => {
    const s = await startSession(fleet.configDir);
    try {
      const r = await s.call('ssh_run', { alias: 'gateway', command: 'echo via-env' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain(
        'cannot connect to host "gateway": key_passphrase_secret of credentials "gateway" (credentials.yml): ' +
          'secret "gateway_pass" not found; looked in, in order: the environment variables gateway_pass, ' +
          `GATEWAY_PASS, MCP_SSH_SECRET_GATEWAY_PASS (none set), the key gateway_pass or GATEWAY_PASS in ` +
          `${join(fleet.secretsDir, '.env')} (no such key), the file ${join(fleet.secretsDir, 'gateway_pass')} (no such file)`,
      );
    } finally {
      await s.close();
    }
  });
});

/**
 * Password logins need a password on the login account. A dedicated account, so that the shared
 * test account's password (set by auth-methods.test.ts in another worker) is left alone.
 */
const PASSWORD_USER = 'mcp-ssh-lazypw';
const IS_ROOT = process.getuid?.() === 0;

describe.skipIf(!IS_ROOT)('password_secret from a bare environment variable and from secrets/.env (root only)', () => {
  const password = `lazy pw #${process.pid}`;
  let sshd: TestSshd;
  let fleet: Fleet;

  beforeAll(async () => {
    try {
      execFileSync('id', ['-u', PASSWORD_USER], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', PASSWORD_USER], { stdio: 'ignore' });
    }
    execFileSync('chpasswd', [], { input: `${PASSWORD_USER}:${password}\n`, stdio: ['pipe', 'ignore', 'ignore'] });
    sshd = await startSshd({ passwordAuth: true, logLevel: 'INFO', extraUsers: [PASSWORD_USER] });
    fleet = makeFleet(
      [sshd],
      [
        { alias: 'pw_bare', sshd, credentials: 'pw_bare' },
        { alias: 'pw_dotenv', sshd, credentials: 'pw_dotenv' },
      ],
    );
    writeFileSync(
      join(fleet.configDir, 'credentials.yml'),
      stringify({
        entries: [
          { name: 'pw_bare', username: PASSWORD_USER, password_secret: 'login-pw' },
          { name: 'pw_dotenv', username: PASSWORD_USER, password_secret: 'dotenv_pw' },
        ],
      }),
    );
    // Single quotes: the value is taken literally, "#" included.
    writeFileSync(join(fleet.secretsDir, '.env'), `# comment\nexport dotenv_pw='${password}'\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    await sshd?.stop();
    if (IS_ROOT) execFileSync('usermod', ['--password', '*', PASSWORD_USER], { stdio: 'ignore' });
  });

  it('logs in with the password from the variable named as the secret, and from the .env key', async () => {
    // Named exactly as written (with its "-"), as a gateway passing the secret's own name would.
    const s = await startSession(fleet.configDir, { env: { 'login-pw': password } });
    try {
      const bare = await s.call('ssh_run', { alias: 'pw_bare', command: 'whoami' });
      expect(bare.structuredContent, textOf(bare)).toMatchObject({ exit_code: 0, stdout: `${PASSWORD_USER}\n` });
      const dotenv = await s.call('ssh_run', { alias: 'pw_dotenv', command: 'whoami' });
      expect(dotenv.structuredContent, textOf(dotenv)).toMatchObject({ exit_code: 0, stdout: `${PASSWORD_USER}\n` });
      await expect.poll(() => sshd.log()).toMatch(new RegExp(`Accepted password for ${PASSWORD_USER} `));
      expect(sshd.log()).not.toMatch(/Accepted publickey for /);
      await s.waitForLine((l) => l.type === 'audit' && l.alias === 'pw_dotenv');
      expect(s.rawStderr()).not.toContain(password);
    } finally {
      await s.close();
    }
  });
});
