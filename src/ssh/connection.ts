/**
 * One SSH connection: TCP to an address the network policy already approved, a peer-address
 * check before any SSH byte is exchanged, strict host-key verification, authentication.
 * Knows nothing of MCP or policy rules; callers pass in the checks.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { SshError } from './errors.js';
import { fingerprint, sshKeyType, type HostKeyVerdict, type KnownHosts } from './known-hosts.js';

export interface AuthMaterial {
  username: string;
  privateKey?: Buffer;
  passphrase?: string;
  password?: string;
  /** Path of an ssh-agent socket. */
  agent?: string;
}

export interface ConnectOptions {
  /** The IP address to dial (already resolved and checked against the network policy). */
  address: string;
  port: number;
  /** The name host keys are looked up under: the configured `host` of the alias. */
  hostForKeys: string;
  auth: AuthMaterial;
  knownHosts: KnownHosts;
  /** Called with the peer's address once TCP is up; return a reason string to refuse. */
  checkPeer: (peerAddress: string) => string | undefined;
  readyTimeoutMs: number;
  signal?: AbortSignal;
}

export class SshConnection {
  private closed = false;
  private active = 0;

  private constructor(
    private readonly client: ssh2.Client,
    readonly peerAddress: string,
    readonly port: number,
  ) {
    // 'end' (the server closed its side) comes before 'close'; either way no new channel can open.
    client.on('end', () => {
      this.closed = true;
    });
    client.on('close', () => {
      this.closed = true;
    });
    client.on('error', () => {
      this.closed = true;
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get activeChannels(): number {
    return this.active;
  }

  static open(opts: ConnectOptions): Promise<SshConnection> {
    return new Promise<SshConnection>((resolve, reject) => {
      let settled = false;
      let hostKeyFailure: SshError | undefined;
      const client = new ssh2.Client();
      // Nagle plus delayed ACKs would stall every small SSH request by ~40 ms.
      const sock: Socket = tcpConnect({ host: opts.address, port: opts.port, noDelay: true });
      const fail = (err: SshError): void => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        sock.destroy();
        client.end();
        reject(err);
      };
      const onAbort = (): void => fail(new SshError('connection_failed', 'cancelled while connecting'));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const connectTimer = setTimeout(
        () =>
          fail(
            new SshError(
              'timeout',
              `timed out after ${opts.readyTimeoutMs} ms connecting to ${opts.address}:${opts.port}`,
            ),
          ),
        opts.readyTimeoutMs,
      );
      connectTimer.unref();

      sock.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(connectTimer);
        fail(classifySocketError(err, opts.address, opts.port));
      });
      sock.once('connect', () => {
        const peer = sock.remoteAddress ?? '';
        const refusal = opts.checkPeer(peer);
        if (refusal !== undefined) {
          clearTimeout(connectTimer);
          fail(
            new SshError('network_blocked', `connected peer ${peer} is not allowed by the network policy: ${refusal}`),
          );
          return;
        }
        const config: ConnectConfig = {
          sock,
          username: opts.auth.username,
          readyTimeout: opts.readyTimeoutMs,
          keepaliveInterval: 15_000,
          hostVerifier: (key: Buffer) => {
            const verdict = opts.knownHosts.verify(opts.hostForKeys, opts.port, key);
            if (verdict.status === 'match') return true;
            hostKeyFailure = hostKeyError(verdict, opts, key);
            return false;
          },
        };
        // Ask first for the key types known_hosts holds for this host, as OpenSSH does: a server
        // with an ed25519 key and the RSA key we know then presents the RSA one.
        const hostKeyAlgorithms = opts.knownHosts.hostKeyAlgorithms(opts.hostForKeys, opts.port);
        if (hostKeyAlgorithms) config.algorithms = { serverHostKey: hostKeyAlgorithms as ServerHostKeyAlgorithm[] };
        if (opts.auth.privateKey) config.privateKey = opts.auth.privateKey;
        if (opts.auth.passphrase !== undefined) config.passphrase = opts.auth.passphrase;
        if (opts.auth.password !== undefined) config.password = opts.auth.password;
        if (opts.auth.agent !== undefined) config.agent = opts.auth.agent;
        client.once('ready', () => {
          clearTimeout(connectTimer);
          if (settled) {
            client.end();
            return;
          }
          settled = true;
          opts.signal?.removeEventListener('abort', onAbort);
          resolve(new SshConnection(client, peer, opts.port));
        });
        // `on`, not `once`: ssh2 can emit several errors for one attempt (an unusable agent, then
        // "All configured authentication methods failed"), and an unheard one would crash the process.
        client.on('error', (err: Error & { level?: string }) => {
          clearTimeout(connectTimer);
          if (hostKeyFailure) return fail(hostKeyFailure);
          if (err.level === 'client-authentication') {
            return fail(
              new SshError(
                'authentication_failed',
                `authentication failed for user "${opts.auth.username}" on ${opts.hostForKeys}:${opts.port}: ` +
                  "check the credentials entry (username, key_path, passphrase or password secret) and the server's authorized_keys",
                { cause: err },
              ),
            );
          }
          if (err.level === 'agent') {
            return fail(
              new SshError(
                'authentication_failed',
                `cannot use the ssh-agent at ${opts.auth.agent ?? '(none)'} for user "${opts.auth.username}" on ` +
                  `${opts.hostForKeys}:${opts.port}: ${err.message}; check that SSH_AUTH_SOCK names a running agent ` +
                  'holding the key (`ssh-add -l`)',
                { cause: err },
              ),
            );
          }
          if (err.level === 'client-timeout') {
            return fail(
              new SshError('timeout', `SSH handshake with ${opts.address}:${opts.port} timed out`, { cause: err }),
            );
          }
          fail(
            new SshError('connection_failed', `SSH connection to ${opts.address}:${opts.port} failed: ${err.message}`, {
              cause: err,
            }),
          );
        });
        try {
          client.connect(config);
        } catch (err) {
          // ssh2 throws synchronously for unusable key material (bad format, wrong passphrase).
          clearTimeout(connectTimer);
          fail(
            new SshError(
              'authentication_failed',
              `cannot use the private key for user "${opts.auth.username}": ${(err as Error).message}; check key_path and key_passphrase_secret`,
              { cause: err },
            ),
          );
        }
      });
    });
  }

  /**
   * Opens an exec channel and hands it to `onChannel` synchronously: ssh2 may parse the
   * channel's data, exit status and close from the same TCP read that confirmed it, so
   * listeners attached after an await would miss them.
   */
  exec(command: string, onChannel: (channel: ClientChannel) => void, onError: (err: SshError) => void): void {
    if (this.closed) {
      onError(this.lostBeforeStart());
      return;
    }
    const opened = (err: Error | undefined, channel: ClientChannel): void => {
      if (err) {
        // A pooled connection can die (sshd restarted, network dropped) before we notice; then
        // the request fails when the socket closes. Say so: nothing ran, so a retry is safe.
        onError(
          this.closed
            ? this.lostBeforeStart(err)
            : new SshError('connection_lost', `cannot open a channel: ${err.message}`, { cause: err }),
        );
        return;
      }
      this.active++;
      channel.once('close', () => {
        this.active--;
      });
      onChannel(channel);
    };
    try {
      this.client.exec(command, opened);
    } catch (err) {
      // ssh2 throws "Not connected" when the socket is no longer writable.
      this.closed = true;
      onError(this.lostBeforeStart(err as Error));
    }
  }

  close(): void {
    this.closed = true;
    this.client.end();
  }

  private lostBeforeStart(cause?: Error): SshError {
    return new SshError(
      'connection_stale',
      `the SSH connection to ${this.peerAddress}:${this.port} was lost before the command started ` +
        '(sshd stopped or the network dropped); the command did not run — run it again to reconnect',
      cause ? { cause } : undefined,
    );
  }
}

function hostKeyError(
  verdict: Exclude<HostKeyVerdict, { status: 'match' }>,
  opts: ConnectOptions,
  key: Buffer,
): SshError {
  const where = opts.port === 22 ? opts.hostForKeys : `[${opts.hostForKeys}]:${opts.port}`;
  const offeredType = sshKeyType(key);
  const fp = `${offeredType} ${fingerprint(key)}`;
  if (verdict.status === 'unknown' && opts.knownHosts.missing) {
    return new SshError(
      'host_key_unknown',
      `host key for ${where} cannot be verified: the known_hosts file does not exist at ${opts.knownHosts.path} ` +
        `(server offered ${fp}). Create it: verify the fingerprint out of band, run ` +
        `\`ssh-keyscan -p ${opts.port} ${opts.hostForKeys} >> ${opts.knownHosts.path}\` (or set known_hosts_path in ` +
        'policy.yml to an existing file), then reload the configuration (ssh_reload_config) — keys are never added automatically',
    );
  }
  if (verdict.status === 'unknown') {
    return new SshError(
      'host_key_unknown',
      `host key for ${where} is not in ${opts.knownHosts.path} (server offered ${fp}); verify the fingerprint out of band and add it ` +
        `with \`ssh-keyscan -p ${opts.port} ${opts.hostForKeys} >> ${opts.knownHosts.path}\` — keys are never added automatically`,
    );
  }
  if (verdict.status === 'revoked') {
    return new SshError(
      'host_key_revoked',
      `host key ${fp} for ${where} is marked @revoked in ${opts.knownHosts.path}; refusing to connect`,
    );
  }
  if (!verdict.expectedTypes.includes(offeredType)) {
    // We asked for the known types first, so the server holds none of them (or is not the server).
    return new SshError(
      'host_key_mismatch',
      `HOST KEY MISMATCH for ${where}: the server offered ${fp}, but ${opts.knownHosts.path} holds only ` +
        `${verdict.expectedTypes.join(', ')} keys for it and the server presented none of those types. ` +
        'This can mean a man-in-the-middle attack or a reinstalled host whose old key is gone; verify the new key out of band ' +
        'before replacing the entry',
    );
  }
  return new SshError(
    'host_key_mismatch',
    `HOST KEY MISMATCH for ${where}: the server offered ${fp}, which does not match ${opts.knownHosts.path}. ` +
      'This can mean a man-in-the-middle attack or a reinstalled host; verify the new key out of band before replacing the entry',
  );
}

function classifySocketError(err: NodeJS.ErrnoException, address: string, port: number): SshError {
  if (err.code === 'ECONNREFUSED') {
    return new SshError(
      'connection_refused',
      `connection refused by ${address}:${port}: is sshd running and is the port right?`,
      {
        cause: err,
      },
    );
  }
  return new SshError(
    'connection_failed',
    `cannot reach ${address}:${port} (${err.code ?? err.message}): check the host and the network`,
    {
      cause: err,
    },
  );
}
