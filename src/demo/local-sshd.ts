/**
 * The demo's SSH server on 127.0.0.1: OpenSSH's sshd when installed (a throwaway config,
 * generated host key, one authorized key), otherwise the embedded ssh2 server.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedSshd } from './embedded-sshd.js';

export interface LocalSshd {
  kind: 'openssh' | 'embedded';
  /** Why the embedded server was used. */
  reason?: string;
  port: number;
  username: string;
  stop(): Promise<void>;
}

const SSHD_CANDIDATES = ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/usr/bin/sshd'];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForListen(port: number, exited: () => string | undefined): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const failure = exited();
    if (failure !== undefined) throw new Error(failure);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not start listening on 127.0.0.1:${port}`);
}

export async function startLocalSshd(opts: {
  dir: string;
  hostPrivateKey: string;
  authorizedPublicKey: string;
  preferEmbedded?: boolean;
  /** Use OpenSSH whenever installed, even as root. */
  preferOpenSsh?: boolean;
}): Promise<LocalSshd> {
  const username = userInfo().username;
  const sshd = SSHD_CANDIDATES.find((p) => existsSync(p));
  // OpenSSH refuses `signal` requests for root logins, so as root a timed-out command would
  // not be killed; the embedded server shows the real behaviour instead.
  const embeddedReason = !sshd
    ? 'OpenSSH sshd is not installed'
    : opts.preferEmbedded
      ? 'asked for'
      : process.getuid?.() === 0 && !opts.preferOpenSsh
        ? 'running as root: OpenSSH would not deliver kill signals to root logins'
        : undefined;
  if (embeddedReason !== undefined || !sshd) {
    const embedded = await startEmbeddedSshd({
      hostPrivateKey: opts.hostPrivateKey,
      authorizedPublicKey: opts.authorizedPublicKey,
      username,
    });
    return { kind: 'embedded', reason: embeddedReason, port: embedded.port, username, stop: embedded.close };
  }
  const hostKey = join(opts.dir, 'ssh_host_ed25519_key');
  const authorized = join(opts.dir, 'authorized_keys');
  writeFileSync(hostKey, opts.hostPrivateKey, { mode: 0o600 });
  writeFileSync(authorized, opts.authorizedPublicKey + '\n', { mode: 0o644 });
  const port = await freePort();
  const config = join(opts.dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(opts.dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorized}`,
      `AllowUsers ${username}`,
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'MaxSessions 32',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const proc = spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d: Buffer) => (log += d.toString()));
  await waitForListen(port, () =>
    proc.exitCode !== null ? `sshd exited (${proc.exitCode}): ${log.trim()}` : undefined,
  );
  return {
    kind: 'openssh',
    port,
    username,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
