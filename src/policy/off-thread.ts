/**
 * Long command lines are decided on a worker thread, so no decision holds the event loop for
 * more than about a millisecond (bench/policy.ts: a typical command takes ~50 µs, a 16 KiB
 * line of a thousand statements tens of milliseconds). One worker per process, started on
 * first need and unref'd; if it cannot start or dies, the decision is made in-line instead —
 * slower for other requests, never different.
 */
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../worker-thread.js';
import type { PolicyFile } from '../config/schema.js';
import type { PolicyDecision } from './decide.js';
import type { ShippedPolicy, ThreadRequest } from './decide-thread.js';
import type { PolicyTarget } from './rules.js';

/** Above these the decision is made off the event loop (measured: below them it stays well under 1 ms). */
export const INLINE_MAX_LENGTH = 1024;
export const INLINE_MAX_SEPARATORS = 16;

/** Whether `command` is long enough to be decided on the worker thread. */
export function decideOffThread(command: string): boolean {
  if (command.length > INLINE_MAX_LENGTH) return true;
  let separators = 0;
  for (let i = 0; i < command.length; i++) {
    const c = command.charCodeAt(i);
    // ; & | newline: each may start another command.
    if ((c === 0x3b || c === 0x26 || c === 0x7c || c === 0x0a) && ++separators > INLINE_MAX_SEPARATORS) return true;
  }
  return false;
}

/** Target size of one chunk of rules (JSON characters). */
const CHUNK_CHARS = 16 * 1024;

/** The policy as the thread takes it, prepared one rule per step (see runInSlices). */
export function* shipping(policy: PolicyFile): Generator<void, ShippedPolicy, undefined> {
  const { rules, ...meta } = policy;
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
    yield;
  }
  if (batch.length > 0) ruleChunks.push(`[${batch.join(',')}]`);
  return { meta, ruleChunks };
}

type Reply = { id: number; decision: PolicyDecision } | { id: number; error: string };

class DecisionThread {
  private worker: Worker | undefined;
  private broken = false;
  private nextId = 1;
  private answeredCount = 0;
  private readonly pending = new Map<number, { resolve: (d: PolicyDecision) => void; reject: (e: Error) => void }>();
  /** Policy keys the current worker has compiled. */
  private readonly known = new Set<number>();

  /** Decisions answered by the thread so far (for tests and diagnostics). */
  get answered(): number {
    return this.answeredCount;
  }

  /** Undefined when no worker can run here (the caller then decides in-line). */
  decide(
    key: number,
    policy: () => ShippedPolicy,
    target: PolicyTarget,
    command: string,
  ): Promise<PolicyDecision> | undefined {
    const worker = this.start();
    if (worker === undefined) return undefined;
    if (!this.known.has(key)) {
      this.post(worker, { kind: 'policy', key, policy: policy() });
      this.known.add(key);
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post(worker, { kind: 'decide', id, key, target, command });
      worker.ref(); // keep the process alive while a decision is owed
    });
  }

  forget(key: number): void {
    if (this.worker !== undefined && this.known.delete(key)) this.post(this.worker, { kind: 'forget', key });
  }

  private post(worker: Worker, request: ThreadRequest): void {
    worker.postMessage(request);
  }

  private start(): Worker | undefined {
    if (this.worker !== undefined || this.broken) return this.worker;
    const worker = startSiblingWorker(import.meta.url, 'decide-thread');
    if (worker === undefined) {
      this.broken = true;
      return undefined;
    }
    worker.unref();
    worker.on('message', (reply: Reply) => this.settle(reply));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', () => this.fail(new Error('the policy worker thread exited')));
    this.worker = worker;
    return worker;
  }

  private settle(reply: Reply): void {
    const waiter = this.pending.get(reply.id);
    if (waiter === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    this.answeredCount++;
    if ('decision' in reply) waiter.resolve(reply.decision);
    else waiter.reject(new Error(reply.error));
  }

  /** The worker is gone: every waiting decision is retried in-line by its caller. */
  private fail(err: Error): void {
    this.broken = true;
    this.worker = undefined;
    this.known.clear();
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}

/** The process's one decision thread. */
export const decisionThread = new DecisionThread();
