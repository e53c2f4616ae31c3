/**
 * Starts a real OpenSSH sshd on 127.0.0.1 (or ::1) on a free port, with generated host and
 * user keys, for integration tests. Never a mock: the orchestrator talks to real OpenSSH.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, chmodSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { childrenByParent, procTable, processTree } from './proc.js';

export const SSHD_PATH = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((p) => existsSync(p));

export interface TestSshd {
  port: number;
  address: string;
  dir: string;
  username: string;
  hostKeyPub: string;
  /** User private keys by type: ed25519, ecdsa, rsa, and an ed25519 key protected by `passphrase`. */
  userKeys: Record<'ed25519' | 'ecdsa' | 'rsa' | 'ed25519_pass' | 'unauthorized', string>;
  passphrase: string;
  /** known_hosts line(s) for this server, plain (`[addr]:port type key`). */
  knownHostsLine: string;
  stop(): Promise<void>;
  /** What sshd wrote on stderr so far, across restarts (LogLevel ERROR unless logLevel was given). */
  log(): string;
  /**
   * Kills sshd abruptly, connections too: the listener and every process it forked (OpenSSH
   * puts each connection in its own session, so killing the listener alone leaves them running).
   */
  kill(): Promise<void>;
  /** Starts sshd again with the same directory, port, host key and config (killing it first if it runs). */
  restart(): Promise<void>;
}

/**
 * The user tests log in as. Under root it is an unprivileged account, because OpenSSH skips
 * post-auth privilege separation for root logins and then refuses `signal` channel requests —
 * so a root login would hide whether timeouts and cancellation really kill the remote process.
 * The account is created on first use (CI runs as root on a fresh machine).
 */
export const TEST_LOGIN_USER = 'mcp-ssh-test';

function loginUser(): string {
  if (process.getuid?.() !== 0) return userInfo().username;
  try {
    execFileSync('id', ['-u', TEST_LOGIN_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', TEST_LOGIN_USER], { stdio: 'ignore' });
  }
  // useradd leaves the account locked ('!'), and sshd refuses locked accounts even for keys;
  // '*' means "no password login" without the lock. Only a locked account is changed: a test
  // in another worker may have set a password (see setLoginPassword) and must keep it.
  if (shadowHash(TEST_LOGIN_USER).startsWith('!')) {
    execFileSync('usermod', ['--password', '*', TEST_LOGIN_USER], { stdio: 'ignore' });
  }
  return TEST_LOGIN_USER;
}

function shadowHash(user: string): string {
  const line = readFileSync('/etc/shadow', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  return line?.split(':')[1] ?? '!';
}

/**
 * Sets (or, with undefined, removes) the login password of the test user, for password
 * authentication tests. Root only: it changes a system account.
 */
export function setLoginPassword(password: string | undefined): void {
  if (process.getuid?.() !== 0) throw new Error('setLoginPassword needs root');
  const user = loginUser();
  if (password === undefined) execFileSync('usermod', ['--password', '*', user], { stdio: 'ignore' });
  else execFileSync('chpasswd', [], { input: `${user}:${password}\n`, stdio: ['pipe', 'ignore', 'ignore'] });
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function keygen(path: string, type: string, passphrase = '', bits?: number): void {
  const args = ['-q', '-t', type, '-N', passphrase, '-f', path, '-C', `test-${type}`];
  if (bits) args.push('-b', String(bits));
  execFileSync('ssh-keygen', args, { stdio: 'ignore' });
}

let sharedUserKeys: { keys: TestSshd['userKeys']; passphrase: string; authorized: string } | undefined;

/** Generates user keys once per test process; every sshd it starts authorizes the same keys. */
export function makeUserKeys(): { keys: TestSshd['userKeys']; passphrase: string; authorized: string } {
  if (sharedUserKeys) return sharedUserKeys;
  const dir = mkdtempSync(join(tmpdir(), 'mcp-ssh-userkeys-'));
  const passphrase = 'correct horse battery';
  const keys = {
    ed25519: join(dir, 'id_ed25519'),
    ecdsa: join(dir, 'id_ecdsa'),
    rsa: join(dir, 'id_rsa'),
    ed25519_pass: join(dir, 'id_ed25519_pass'),
    unauthorized: join(dir, 'id_unauthorized'),
  };
  keygen(keys.ed25519, 'ed25519');
  keygen(keys.ecdsa, 'ecdsa', '', 256);
  keygen(keys.rsa, 'rsa', '', 3072);
  keygen(keys.ed25519_pass, 'ed25519', passphrase);
  keygen(keys.unauthorized, 'ed25519');
  const authorized = (['ed25519', 'ecdsa', 'rsa', 'ed25519_pass'] as const)
    .map((k) => readFileSync(`${keys[k]}.pub`, 'utf8').trim())
    .join('\n');
  sharedUserKeys = { keys, passphrase, authorized };
  return sharedUserKeys;
}

export async function startSshd(
  opts: {
    address?: string;
    hostKeyType?: 'ed25519' | 'ecdsa' | 'rsa';
    logLevel?: string;
    /** Accept password logins (PasswordAuthentication yes); keys are accepted either way. */
    passwordAuth?: boolean;
    /**
     * More accounts allowed to log in (AllowUsers), with the same authorized keys as the test
     * user; they must exist already (see test/helpers/traced-shell.ts).
     */
    extraUsers?: string[];
    /** Environment variables a client may pass (AcceptEnv). */
    acceptEnv?: string[];
  } = {},
): Promise<TestSshd> {
  if (!SSHD_PATH) throw new Error('OpenSSH sshd not found: install it with `apt-get install openssh-server`');
  const address = opts.address ?? '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), 'mcp-ssh-sshd-'));
  // sshd reads authorized_keys as the login user, which may not be us (see loginUser).
  chmodSync(dir, 0o755);
  const hostKey = join(dir, 'ssh_host_key');
  keygen(hostKey, opts.hostKeyType ?? 'ed25519');
  const { keys, passphrase, authorized } = makeUserKeys();
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, authorized + '\n', { mode: 0o644 });
  // sshd as root wants its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const username = loginUser();
  const port = await freePort(address);
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      `ListenAddress ${address}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${[username, ...(opts.extraUsers ?? [])].join(' ')}`,
      ...(opts.acceptEnv?.length ? [`AcceptEnv ${opts.acceptEnv.join(' ')}`] : []),
      `PasswordAuthentication ${opts.passwordAuth ? 'yes' : 'no'}`,
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'MaxSessions 64',
      'MaxStartups 100:30:200',
      `LogLevel ${opts.logLevel ?? 'ERROR'}`,
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const sshdPath = SSHD_PATH;
  let stderr = '';
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(sshdPath, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitForPort(address, port, child, () => stderr);
    return child;
  };
  const exited = (p: ChildProcess): boolean => p.exitCode !== null || p.signalCode !== null;
  const waitExit = (p: ChildProcess): Promise<void> =>
    new Promise<void>((resolve) => {
      if (exited(p)) return resolve();
      p.once('exit', () => resolve());
    });
  let proc = await launch();
  const hostKeyPub = readFileSync(`${hostKey}.pub`, 'utf8').trim();
  const [type, key] = hostKeyPub.split(/\s+/);
  const hostPattern = address.includes(':') ? `[${address}]:${port}` : `[${address}]:${port}`;
  const sshd: TestSshd = {
    port,
    address,
    dir,
    username,
    hostKeyPub,
    userKeys: keys,
    passphrase,
    knownHostsLine: `${hostPattern} ${type} ${key}`,
    log: () => stderr,
    kill: async () => {
      if (proc.pid === undefined || exited(proc)) return;
      // Collect the tree first: once the listener dies its children are re-parented.
      const pids = [proc.pid, ...descendantsOf(proc.pid)];
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await waitExit(proc);
      for (let i = 0; i < 200 && pids.some(isAlive); i++) await new Promise((r) => setTimeout(r, 10));
    },
    restart: async () => {
      if (!exited(proc)) await sshd.kill();
      proc = await launch();
    },
    stop: () => {
      const p = proc;
      if (!exited(p)) p.kill('SIGTERM');
      return waitExit(p);
    },
  };
  return sshd;
}

/** True while the process exists and is not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Every process below `root` (not `root` itself), from the parent links in /proc (Linux). */
function descendantsOf(root: number): number[] {
  return processTree([root], childrenByParent(procTable())).slice(1);
}

async function waitForPort(address: string, port: number, proc: ChildProcess, log: () => string): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`sshd exited with ${proc.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: address, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${address}:${port}: ${log()}`);
}
