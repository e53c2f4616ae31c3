/**
 * The config thread: loadConfig's reading, YAML parsing and validation run on a worker
 * thread (load-thread.ts), so loading a large policy.yml never holds the event loop — a
 * policy at the size limits takes about half a second there. One worker per process, started
 * on first need, unref'd while idle and stopped after IDLE_MS without loads (its heap goes
 * with it). Events the load emits (security events) are re-emitted here, in order, before
 * the result.
 *
 * The result comes back in a form that is cheap to receive: the config with its rules as
 * JSON text in chunks of about CHUNK_CHARS, parsed here a chunk per step in slices
 * (unpackConfig), since one structured clone of a policy at the limits takes 10-15 ms.
 *
 * If no worker can start here (no script beside this one, no tsx for the sources), loading
 * runs in-line instead; a worker that dies during a load fails that load, which is not
 * retried in-line (what killed the thread would hold or kill the server).
 */
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../worker-thread.js';
import type { EventEmitter, OrchestratorEvent } from '../telemetry/events.js';
import type { ConfigIssue } from './errors.js';
import { ConfigError } from './errors.js';
import type { ConfigDirs, LoadedConfig } from './load.js';
import type { PolicyFile, RuleConfig } from './schema.js';
import { runInSlices } from './slices.js';

/** Idle time after which the worker is stopped. */
export const IDLE_MS = 2000;
/** Target size of one chunk of rules (JSON characters); JSON.parse takes ~0.1 ms per chunk. */
const CHUNK_CHARS = 16 * 1024;

/** A LoadedConfig as the config thread sends it: rules as JSON chunks. */
export interface PackedConfig extends Omit<LoadedConfig, 'policy' | 'dirs'> {
  policy: Omit<PolicyFile, 'rules'>;
  ruleChunks: string[];
}

export type LoadRequest = { id: number; dirs: ConfigDirs };
export type LoadReply =
  | { id: 0; kind: 'ready' }
  | { id: number; kind: 'event'; event: OrchestratorEvent }
  | { id: number; kind: 'loaded'; config: PackedConfig }
  | { id: number; kind: 'invalid'; issues: ConfigIssue[] }
  | { id: number; kind: 'failed'; name: string; message: string; code?: string };

/** On the config thread: the config in its sending form. */
export function packConfig(config: LoadedConfig): PackedConfig {
  const { rules, ...policy } = config.policy;
  const ruleChunks: string[] = [];
  let batch: string[] = [];
  let size = 0;
  for (const rule of rules) {
    const json = JSON.stringify(rule);
    batch.push(json);
    size += json.length;
    if (size >= CHUNK_CHARS) {
      ruleChunks.push(`[${batch.join(',')}]`);
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) ruleChunks.push(`[${batch.join(',')}]`);
  const { dirs: _dirs, policy: _policy, ...rest } = config;
  return { ...rest, policy, ruleChunks };
}

function* unpacking(packed: PackedConfig, dirs: ConfigDirs): Generator<void, LoadedConfig, undefined> {
  const rules: RuleConfig[] = [];
  for (const chunk of packed.ruleChunks) {
    for (const rule of JSON.parse(chunk) as RuleConfig[]) rules.push(rule);
    yield;
  }
  const { ruleChunks: _chunks, policy, ...rest } = packed;
  return { ...rest, dirs, policy: { ...policy, rules } };
}

/** Here: the config the thread sent, rebuilt a chunk at a time. */
export function unpackConfig(packed: PackedConfig, dirs: ConfigDirs): Promise<LoadedConfig> {
  return runInSlices(unpacking(packed, dirs));
}

/** No config thread can run in this process: the caller loads in-line. */
export class ThreadUnavailableError extends Error {
  override readonly name = 'ThreadUnavailableError';
}

interface Pending {
  emitter: EventEmitter;
  resolve: (config: PackedConfig) => void;
  reject: (error: Error) => void;
}

function errorFrom(reply: Extract<LoadReply, { kind: 'failed' }>): Error {
  const error = new Error(reply.message) as NodeJS.ErrnoException;
  error.name = reply.name;
  if (reply.code !== undefined) error.code = reply.code;
  return error;
}

class ConfigThread {
  private worker: Worker | undefined;
  /** The worker's script has loaded (its first message). */
  private ready = false;
  private unavailable = false;
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<number, Pending>();

  /** Loads on the thread; rejects with ThreadUnavailableError when no thread can run. */
  load(dirs: ConfigDirs, emitter: EventEmitter): Promise<PackedConfig> {
    const worker = this.start();
    if (worker === undefined) return Promise.reject(new ThreadUnavailableError('no config thread'));
    clearTimeout(this.idleTimer);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { emitter, resolve, reject });
      worker.ref(); // keep the process alive while a load is owed
      const request: LoadRequest = { id, dirs };
      worker.postMessage(request);
    });
  }

  private start(): Worker | undefined {
    if (this.worker !== undefined || this.unavailable) return this.worker;
    const worker = startSiblingWorker(import.meta.url, 'load-thread');
    if (worker === undefined) {
      this.unavailable = true;
      return undefined;
    }
    worker.unref();
    worker.on('message', (reply: LoadReply) => {
      if (this.worker === worker) this.receive(reply);
    });
    worker.on('error', (err) => this.lost(worker, err));
    worker.on('exit', (code) => this.lost(worker, new Error(`the config thread exited with code ${code}`)));
    this.worker = worker;
    this.ready = false;
    return worker;
  }

  private receive(reply: LoadReply): void {
    if (reply.kind === 'ready') {
      this.ready = true;
      return;
    }
    const waiter = this.pending.get(reply.id);
    if (waiter === undefined) return;
    if (reply.kind === 'event') {
      waiter.emitter.emit(reply.event);
      return;
    }
    this.pending.delete(reply.id);
    this.idleIfDone();
    if (reply.kind === 'loaded') waiter.resolve(reply.config);
    else if (reply.kind === 'invalid') waiter.reject(new ConfigError(reply.issues));
    else waiter.reject(errorFrom(reply));
  }

  private idleIfDone(): void {
    if (this.pending.size > 0) return;
    const worker = this.worker;
    worker?.unref();
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.worker !== worker || this.pending.size > 0) return;
      this.worker = undefined;
      this.ready = false;
      void worker?.terminate();
    }, IDLE_MS).unref();
  }

  /**
   * The worker is gone. Before its script loaded it could not run here at all: its loads run
   * in-line (ThreadUnavailableError), as will later ones. After, its loads fail.
   */
  private lost(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    const startedUp = this.ready;
    this.worker = undefined;
    this.ready = false;
    if (!startedUp) this.unavailable = true;
    const error = startedUp
      ? new Error(`loading the config failed: the config thread stopped (${err.message})`)
      : new ThreadUnavailableError(err.message);
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}

/** The process's one config thread. */
export const configThread = new ConfigThread();
