/**
 * Task registry: every command execution (sync or async) is a task with an id, a lifecycle,
 * live output lines, an AbortController for cancellation, and a result kept for
 * task_result_ttl seconds after it ends.
 */
import { randomBytes } from 'node:crypto';
import { LiveOutput, type OutputLine, type OutputStream } from './live-output.js';

export type { OutputLine } from './live-output.js';

export type TaskState = 'running' | 'completed' | 'failed' | 'cancelled' | 'timeout';
export type TaskPhase = 'pending' | 'connecting' | 'connected' | 'running' | 'done';

export interface TaskResult {
  task_id: string;
  alias: string;
  hash: string;
  exit_code: number;
  bytes_out: number;
  bytes_err: number;
  truncated: boolean;
  duration_ms: number;
  cancelled: boolean;
  timeout: boolean;
  target_ip: string | null;
  /** Set when the command could not run (connection, host key, authentication, network). */
  error?: string;
  /** false when sshd never confirmed the process ended after a timeout or cancel. */
  remote_stopped?: boolean;
}

/** The bytes kept of each stream (the first max_output_bytes), exactly as received. */
export interface CapturedOutput {
  stdout: Buffer;
  stderr: Buffer;
}

export class Task {
  readonly id = `task_${randomBytes(8).toString('hex')}`;
  readonly startedAt = Date.now();
  readonly abort = new AbortController();
  state: TaskState = 'running';
  phase: TaskPhase = 'pending';
  bytesRead = 0;
  finishedAt?: number;
  result?: TaskResult;
  /** What the command wrote, set with the result. */
  captured: CapturedOutput = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  /** Resolves once the task has its result (and so its audit line). */
  readonly settled: Promise<void>;
  private markSettled!: () => void;
  private readonly live: LiveOutput;

  constructor(
    readonly alias: string,
    readonly command: string,
    readonly hash: string,
    readonly isAsync: boolean,
    readonly resultTtlMs: number,
    maxOutputBytes: number,
  ) {
    this.live = new LiveOutput(maxOutputBytes);
    this.settled = new Promise((resolve) => (this.markSettled = resolve));
  }

  get elapsedMs(): number {
    return (this.finishedAt ?? Date.now()) - this.startedAt;
  }

  /** Incoming bytes, as lines clients can read while the command runs. */
  appendOutput(stream: OutputStream, chunk: Buffer): void {
    this.bytesRead += chunk.length;
    this.live.append(stream, chunk);
  }

  /** See LiveOutput.since. */
  outputSince(
    offset: number,
    max: number,
    fits?: (line: OutputLine) => boolean,
  ): { lines: OutputLine[]; next_offset: number; dropped: number; partial: OutputLine[] } {
    return this.live.since(offset, max, fits);
  }

  finish(result: TaskResult, captured?: CapturedOutput): void {
    this.live.end();
    if (captured) this.captured = captured;
    this.result = result;
    this.finishedAt = Date.now();
    this.phase = 'done';
    this.state = result.timeout ? 'timeout' : result.cancelled ? 'cancelled' : result.error ? 'failed' : 'completed';
    this.markSettled();
  }
}

export class TaskRegistry {
  private readonly tasks = new Map<string, Task>();
  private lastSweep = 0;

  create(
    alias: string,
    command: string,
    hash: string,
    isAsync: boolean,
    limits: { task_result_ttl: number; max_output_bytes: number },
  ): Task {
    this.sweep();
    const task = new Task(alias, command, hash, isAsync, limits.task_result_ttl * 1000, limits.max_output_bytes);
    this.tasks.set(task.id, task);
    return task;
  }

  get(id: string): Task | undefined {
    this.sweep();
    return this.tasks.get(id);
  }

  running(): Task[] {
    return [...this.tasks.values()].filter((t) => t.state === 'running');
  }

  /** Cancels a running task; false when it is unknown, already finished or already being cancelled. */
  cancel(id: string): boolean {
    const task = this.tasks.get(id);
    // A cancel in flight still shows `running` until the remote process is gone: one true only.
    if (!task || task.state !== 'running' || task.abort.signal.aborted) return false;
    task.abort.abort(new Error('cancelled by request'));
    return true;
  }

  /** Forgets finished tasks whose result TTL has passed (at most once a second: it scans them all). */
  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [id, task] of this.tasks) {
      if (task.finishedAt !== undefined && now - task.finishedAt > task.resultTtlMs) this.tasks.delete(id);
    }
  }
}
