/**
 * Connection pool: one multiplexed SSH connection per host identity, reused across commands,
 * closed after an idle timeout and reopened when it dies. Concurrency is capped per host
 * (OpenSSH allows 10 sessions per connection by default) and globally.
 */
import { Semaphore } from './semaphore.js';
import type { SshConnection } from './connection.js';

export interface PoolOptions {
  idleTimeoutMs: number;
  maxPerHost: number;
  maxGlobal: number;
}

export interface Lease {
  connection: SshConnection;
  release(): void;
}

interface PoolEntry {
  connection?: SshConnection;
  opening?: Promise<SshConnection>;
  slots: Semaphore;
  idleTimer?: NodeJS.Timeout;
}

export class ConnectionPool {
  private readonly entries = new Map<string, PoolEntry>();
  private readonly global: Semaphore;

  constructor(private readonly opts: PoolOptions) {
    this.global = new Semaphore(opts.maxGlobal);
  }

  /** Number of commands currently holding a slot (the `ssh_active_sessions` gauge). */
  get activeSessions(): number {
    return this.global.inUse;
  }

  /**
   * Waits for a slot, gets (or opens) the connection for `key`, and lends it. The caller must
   * call `release()` when its command is done, whatever happened.
   */
  async acquire(key: string, open: () => Promise<SshConnection>, signal?: AbortSignal): Promise<Lease> {
    const entry = this.entryFor(key);
    const releaseGlobal = await this.global.acquire(signal);
    let releaseHost: (() => void) | undefined;
    const release = (): void => {
      releaseHost?.();
      releaseGlobal();
      this.scheduleIdleClose(key, entry);
    };
    try {
      releaseHost = await entry.slots.acquire(signal);
      if (entry.idleTimer) clearTimeout(entry.idleTimer);
      const connection = await this.connectionFor(entry, open);
      return { connection, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Drops every idle connection (after a config reload, keys and addresses may differ). */
  closeIdle(): void {
    for (const [key, entry] of this.entries) {
      if (entry.slots.inUse === 0) this.closeEntry(key, entry);
    }
  }

  closeAll(): void {
    for (const [key, entry] of this.entries) this.closeEntry(key, entry);
  }

  private entryFor(key: string): PoolEntry {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { slots: new Semaphore(this.opts.maxPerHost) };
      this.entries.set(key, entry);
    }
    return entry;
  }

  private async connectionFor(entry: PoolEntry, open: () => Promise<SshConnection>): Promise<SshConnection> {
    if (entry.connection?.isOpen) return entry.connection;
    entry.connection = undefined;
    // Commands arriving together share one handshake instead of racing to open several.
    if (!entry.opening) {
      entry.opening = open().finally(() => {
        entry.opening = undefined;
      });
    }
    const conn = await entry.opening;
    entry.connection = conn;
    return conn;
  }

  private scheduleIdleClose(key: string, entry: PoolEntry): void {
    if (entry.slots.inUse > 0) return;
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    entry.idleTimer = setTimeout(() => {
      if (entry.slots.inUse === 0) this.closeEntry(key, entry);
    }, this.opts.idleTimeoutMs);
    entry.idleTimer.unref();
  }

  private closeEntry(key: string, entry: PoolEntry): void {
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    entry.connection?.close();
    this.entries.delete(key);
  }
}
