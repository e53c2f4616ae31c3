/**
 * Task registry: every command execution (sync or async) is a task with an id, a lifecycle,
 * live output lines, an AbortController for cancellation, and a result kept for
 * task_result_ttl seconds after it ends.
 */
import { randomBytes } from 'node:crypto';

export type TaskState = 'running' | 'completed' | 'failed' | 'cancelled' | 'timeout';
export type TaskPhase = 'pending' | 'connecting' | 'connected' | 'running' | 'done';

export interface TaskResult {
  task_id: string;
  alias: string;
  hash: string;
  exit_code: number;
  stdout: string;
  stderr: string;
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

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

/** Upper bound on lines kept for ssh_get_task_output; older lines roll off. */
const MAX_OUTPUT_LINES = 10_000;

export class Task {
  readonly id = `task_${randomBytes(8).toString('hex')}`;
  readonly startedAt = Date.now();
  readonly abort = new AbortController();
  state: TaskState = 'running';
  phase: TaskPhase = 'pending';
  bytesRead = 0;
  finishedAt?: number;
  result?: TaskResult;
  /** Resolves once the task has its result (and so its audit line). */
  readonly settled: Promise<void>;
  private markSettled!: () => void;
  private readonly lines: OutputLine[] = [];
  private droppedLines = 0;
  private readonly partial: Record<OutputLine['stream'], string> = { stdout: '', stderr: '' };

  constructor(
    readonly alias: string,
    readonly command: string,
    readonly hash: string,
    readonly isAsync: boolean,
    readonly resultTtlMs: number,
  ) {
    this.settled = new Promise((resolve) => (this.markSettled = resolve));
  }

  get elapsedMs(): number {
    return (this.finishedAt ?? Date.now()) - this.startedAt;
  }

  /** Splits incoming bytes into lines so clients can read output while the command runs. */
  appendOutput(stream: OutputLine['stream'], chunk: Buffer): void {
    this.bytesRead += chunk.length;
    const parts = (this.partial[stream] + chunk.toString('utf8')).split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const text of parts) this.pushLine({ stream, text });
  }

  /**
   * Complete lines from `offset` on (offsets count every line ever produced, so a client can
   * poll with the `next_offset` it got last time). `partial` holds the unfinished last line of
   * each stream once the reader has caught up.
   */
  outputSince(
    offset: number,
    max: number,
  ): { lines: OutputLine[]; next_offset: number; dropped: number; partial: OutputLine[] } {
    const start = Math.max(offset, this.droppedLines);
    const index = start - this.droppedLines;
    const lines = this.lines.slice(index, index + max);
    const caughtUp = index + lines.length >= this.lines.length;
    const partial = caughtUp
      ? (['stdout', 'stderr'] as const)
          .filter((s) => this.partial[s] !== '')
          .map((stream) => ({ stream, text: this.partial[stream] }))
      : [];
    return { lines, next_offset: start + lines.length, dropped: start - offset, partial };
  }

  finish(result: TaskResult): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') this.pushLine({ stream, text: this.partial[stream] });
      this.partial[stream] = '';
    }
    this.result = result;
    this.finishedAt = Date.now();
    this.phase = 'done';
    this.state = result.timeout ? 'timeout' : result.cancelled ? 'cancelled' : result.error ? 'failed' : 'completed';
    this.markSettled();
  }

  private pushLine(line: OutputLine): void {
    this.lines.push(line);
    if (this.lines.length > MAX_OUTPUT_LINES) {
      this.lines.shift();
      this.droppedLines++;
    }
  }
}

export class TaskRegistry {
  private readonly tasks = new Map<string, Task>();
  private lastSweep = 0;

  create(alias: string, command: string, hash: string, isAsync: boolean, resultTtlSeconds: number): Task {
    this.sweep();
    const task = new Task(alias, command, hash, isAsync, resultTtlSeconds * 1000);
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
