/**
 * Runs one command on an open connection: keeps stdout and stderr apart, caps each at
 * max_output_bytes (reading on so the remote side never blocks), enforces the time limit by
 * signalling the remote process and closing the channel, and honours cancellation.
 */
import type { ClientChannel } from 'ssh2';
import type { SshConnection } from './connection.js';
import { SshError } from './errors.js';

export interface ExecOptions {
  maxOutputBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Every chunk as it arrives (for live output of async tasks and progress byte counts). */
  onData?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

export interface ExecResult {
  /** The remote exit status; -1 when the process ended by signal, timeout or cancellation. */
  exitCode: number;
  exitSignal?: string;
  /** The first max_output_bytes of each stream, as received (binary or text: the caller decides). */
  stdout: Buffer;
  stderr: Buffer;
  /** Bytes received on each stream, including any beyond the cap. */
  bytesOut: number;
  bytesErr: number;
  truncated: boolean;
  timedOut: boolean;
  cancelled: boolean;
  /**
   * False when the remote side had not closed the channel within the grace period after a
   * timeout or cancel: the server ignored the kill signal (OpenSSH refuses signals to root
   * logins), so the remote process may still be running.
   */
  remoteStopped: boolean;
}

/** How long to wait for sshd to confirm the process ended after we asked it to stop. */
const STOP_GRACE_MS = 1500;

class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  total = 0;
  truncated = false;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.cap - this.kept;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length < chunk.length) this.truncated = true;
    this.chunks.push(part);
    this.kept += part.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }
}

/**
 * Runs `command`. Rejects with an SshError when the channel cannot be opened, or when the
 * connection dies while the command runs (sshd killed, network dropped): the command's outcome
 * is then unknown, which must not read like an ordinary exit.
 */
export function execCommand(conn: SshConnection, command: string, opts: ExecOptions): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    conn.exec(command, (channel) => watchChannel(conn, channel, opts, resolve, reject), reject);
  });
}

/** Attaches every listener at once, in the tick the channel was opened (see SshConnection.exec). */
function watchChannel(
  conn: SshConnection,
  channel: ClientChannel,
  opts: ExecOptions,
  resolve: (r: ExecResult) => void,
  reject: (err: SshError) => void,
): void {
  const out = new CappedBuffer(opts.maxOutputBytes);
  const err = new CappedBuffer(opts.maxOutputBytes);
  let timedOut = false;
  let cancelled = false;
  let exitCode: number | null = null;
  let exitSignal: string | undefined;
  let finished = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (graceTimer) return;
    // Ask sshd to kill the process, then close our side; if sshd never confirms, give up
    // waiting after the grace period so a process ignoring us cannot hold the caller.
    try {
      channel.signal('KILL');
    } catch {
      /* channel already closing */
    }
    channel.close();
    graceTimer = setTimeout(() => finish(false), STOP_GRACE_MS);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, opts.timeoutMs);
  const onAbort = (): void => {
    cancelled = true;
    stop();
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  channel.on('data', (chunk: Buffer) => {
    out.push(chunk);
    opts.onData?.('stdout', chunk);
  });
  channel.stderr.on('data', (chunk: Buffer) => {
    err.push(chunk);
    opts.onData?.('stderr', chunk);
  });
  channel.on('exit', (code: number | null, signalName?: string) => {
    if (typeof code === 'number') exitCode = code;
    if (signalName) exitSignal = signalName;
  });
  const finish = (remoteStopped: boolean): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    clearTimeout(graceTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (!timedOut && !cancelled && exitCode === null && exitSignal === undefined && !conn.isOpen) {
      // ssh2 closes every channel of a connection whose socket closed: no exit status came.
      reject(
        new SshError(
          'connection_lost',
          `the SSH connection to ${conn.peerAddress}:${conn.port} was lost while the command was running ` +
            `(sshd stopped or the network dropped) after ${out.total + err.total} bytes of output; ` +
            'whether the command finished is unknown — check the host before running it again',
        ),
      );
      return;
    }
    const ended = timedOut || cancelled || exitCode === null;
    resolve({
      exitCode: ended ? -1 : (exitCode ?? -1),
      ...(exitSignal !== undefined ? { exitSignal } : {}),
      stdout: out.bytes(),
      stderr: err.bytes(),
      bytesOut: out.total,
      bytesErr: err.total,
      truncated: out.truncated || err.truncated,
      timedOut,
      cancelled: cancelled && !timedOut,
      remoteStopped,
    });
  };
  channel.once('close', () => finish(true));
}
