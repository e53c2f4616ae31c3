/**
 * What a benchmark could not measure. Every measurement step runs guarded: a step that throws
 * is recorded as `{ unmeasured: <what>, reason: <message> }` and the benchmark goes on with the
 * next one, so one failing step (a CPU profile, a peer that would not start) no longer loses
 * everything measured before it. The entries go into bench/results/<name>.json (`unmeasured`,
 * empty when everything was measured), into the benchmark's printed tables ("Not measured"),
 * and through the exit status to bench/run.ts, which lists them for the whole run.
 *
 * Exit status of a benchmark process (and of bench/run.ts for the whole run):
 *   0  everything was measured;
 *   3  it ran to the end, results written, but something was not measured;
 *   1  it crashed before it could write results (bench/run.ts: the harness itself failed);
 *   2  usage error (bench/run.ts: an unknown benchmark name).
 */
import { markdownTable } from './kit.js';

/** One thing a benchmark could not measure, and why. */
export interface Unmeasured {
  unmeasured: string;
  reason: string;
}

/** An entry of the whole run's list (bench/run.ts): which benchmark it belongs to. */
export interface SuiteUnmeasured extends Unmeasured {
  benchmark: string;
}

export const EXIT_ALL_MEASURED = 0;
export const EXIT_CRASHED = 1;
export const EXIT_USAGE = 2;
export const EXIT_SOME_UNMEASURED = 3;

/** How long a benchmark may take to exit once done; past that a leftover handle is not waited on. */
const EXIT_GRACE_MS = 10_000;
/** How long one cleanup (closing a server, stopping an sshd) may take before the next one runs. */
const CLEANUP_TIMEOUT_MS = 15_000;

/** Longest reason kept (a server's stderr tail can follow the message). */
const MAX_REASON = 2000;

/** The message of what was thrown, trimmed: the reason recorded for it. */
export function reasonOf(err: unknown): string {
  const text = (err instanceof Error ? err.message || err.name : String(err)).trim() || 'unknown error';
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

/** The first line of a reason, for one table cell. */
export function firstLine(reason: string): string {
  return (reason.split('\n')[0] ?? '').replace(/\|/g, '\\|');
}

/** The "Not measured" table of some entries (empty string when there are none). */
export function unmeasuredTable(entries: readonly (Unmeasured & { benchmark?: string })[]): string {
  if (entries.length === 0) return '';
  const withBenchmark = entries.some((e) => e.benchmark !== undefined);
  return markdownTable(
    withBenchmark ? ['benchmark', 'not measured', 'reason'] : ['not measured', 'reason'],
    entries.map((e) => [
      ...(withBenchmark ? [e.benchmark ?? ''] : []),
      e.unmeasured.replace(/\|/g, '\\|'),
      firstLine(e.reason),
    ]),
  );
}

/** The line a crashed benchmark writes last on stderr; bench/run.ts takes the reason from it. */
export function crashLine(benchmark: string, reason: string): string {
  return `${benchmark}: crashed: ${firstLine(reason)}`;
}

/** The reason in a `crashLine`, or undefined when `line` is not one for `benchmark`. */
export function parseCrashLine(benchmark: string, line: string): string | undefined {
  const prefix = `${benchmark}: crashed: `;
  return line.startsWith(prefix) ? line.slice(prefix.length) : undefined;
}

/**
 * The record of one benchmark run: what it could not measure, and what to clean up at the end
 * whether or not it got there (servers, sshd instances), each cleanup guarded too.
 */
export class Ledger {
  readonly unmeasured: Unmeasured[] = [];
  private readonly cleanups: { what: string; fn: () => unknown }[] = [];

  constructor(
    readonly benchmark: string,
    private readonly log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
    /**
     * Fault injection, to see a run survive a failing step: every step whose name contains
     * this (case-insensitive; $BENCH_FAIL by default) fails without running.
     */
    private readonly failMatch: string = process.env.BENCH_FAIL ?? '',
  ) {}

  private injected(what: string): boolean {
    return this.failMatch !== '' && what.toLowerCase().includes(this.failMatch.toLowerCase());
  }

  /** Records that `what` could not be measured because of `err`. */
  record(what: string, err: unknown): void {
    const reason = reasonOf(err);
    this.unmeasured.push({ unmeasured: what, reason });
    this.log(`${this.benchmark}: not measured: ${what}: ${reason}`);
    if (err instanceof Error && err.stack) this.log(err.stack);
  }

  /**
   * Runs one measurement step. Its value, or undefined when it threw: then it is recorded as
   * not measured, and the benchmark goes on.
   */
  async step<T>(what: string, fn: () => T | Promise<T>): Promise<T | undefined> {
    try {
      if (this.injected(what)) throw new Error(`failure injected by BENCH_FAIL=${this.failMatch}`);
      return await fn();
    } catch (err) {
      this.record(what, err);
      return undefined;
    }
  }

  /** `fn` runs at the end, after the benchmark or its crash, in reverse order of registration. */
  defer(what: string, fn: () => unknown): void {
    this.cleanups.push({ what, fn });
  }

  /** Runs the deferred cleanups; one that fails is logged (it loses no measurement) and the rest still run. */
  async cleanup(): Promise<void> {
    while (this.cleanups.length > 0) {
      const { what, fn } = this.cleanups.pop() as { what: string; fn: () => unknown };
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no end after ${CLEANUP_TIMEOUT_MS / 1000} s`)), CLEANUP_TIMEOUT_MS);
        timer.unref();
      });
      try {
        await Promise.race([Promise.resolve().then(fn), timeout]);
      } catch (err) {
        this.log(`${this.benchmark}: cleanup ${what} failed: ${reasonOf(err)}`);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** The "Not measured" section for the benchmark's printed tables ('' when everything was measured). */
  markdown(): string {
    return this.unmeasured.length === 0 ? '' : `\n### Not measured\n\n${unmeasuredTable(this.unmeasured)}\n`;
  }

  /** The exit status of a benchmark that ran to the end. */
  exitCode(): number {
    return this.unmeasured.length === 0 ? EXIT_ALL_MEASURED : EXIT_SOME_UNMEASURED;
  }
}

/**
 * Runs a benchmark's `main` with a fresh Ledger, then its cleanups, and sets the exit status:
 * 0 or 3 when it ran to the end (see above), 1 when it threw (the crash line on stderr says
 * why; its previous results file is left as it was). Once done, the process exits even if a
 * handle a failed step left open (a server that never closed) would keep it alive.
 */
export async function runBenchmark(name: string, main: (ledger: Ledger) => Promise<void>): Promise<void> {
  const ledger = new Ledger(name);
  let crash: { err: unknown } | undefined;
  try {
    await main(ledger);
  } catch (err) {
    crash = { err };
  }
  await ledger.cleanup();
  if (crash) {
    if (crash.err instanceof Error && crash.err.stack) process.stderr.write(`${crash.err.stack}\n`);
    process.stderr.write(`${crashLine(name, reasonOf(crash.err))}\n`);
    process.exitCode = EXIT_CRASHED;
  } else {
    if (ledger.unmeasured.length > 0) {
      process.stderr.write(`${name}: ${ledger.unmeasured.length} thing(s) not measured (exit status 3)\n`);
    }
    process.exitCode = ledger.exitCode();
  }
  setTimeout(() => {
    process.stderr.write(`${name}: still running ${EXIT_GRACE_MS / 1000} s after it finished; exiting\n`);
    process.exit();
  }, EXIT_GRACE_MS).unref();
}

/** What bench/run.ts learned about one benchmark's process. */
export interface ChildOutcome {
  name: string;
  /** Exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Its last lines on stderr. */
  stderrTail: readonly string[];
  /** Its results file, when it wrote one during this run (older ones are not its). */
  results?: { unmeasured?: unknown };
}

/**
 * What one benchmark of the run could not measure: the entries of its results file when it ran
 * to the end, or the whole benchmark when it crashed, was killed or wrote no results.
 * Results files from before `unmeasured` existed have none: everything in them was measured.
 */
export function childUnmeasured(child: ChildOutcome): SuiteUnmeasured[] {
  const { name, code, signal } = child;
  if ((code === EXIT_ALL_MEASURED || code === EXIT_SOME_UNMEASURED) && child.results) {
    const listed = Array.isArray(child.results.unmeasured) ? (child.results.unmeasured as unknown[]) : [];
    const entries = listed.map((e): SuiteUnmeasured => {
      const x = (e ?? {}) as Partial<Unmeasured>;
      return { benchmark: name, unmeasured: String(x.unmeasured ?? 'unknown'), reason: String(x.reason ?? '') };
    });
    if (code === EXIT_SOME_UNMEASURED && entries.length === 0) {
      entries.push({
        benchmark: name,
        unmeasured: 'part of it',
        reason: 'exit status 3, but its results list nothing',
      });
    }
    return entries;
  }
  let reason: string;
  if (code === EXIT_ALL_MEASURED || code === EXIT_SOME_UNMEASURED) {
    reason = `exit status ${code}, but it wrote no results file`;
  } else {
    const crashed = [...child.stderrTail]
      .reverse()
      .map((l) => parseCrashLine(name, l))
      .find((r) => r !== undefined);
    const last = [...child.stderrTail].reverse().find((l) => l.trim() !== '');
    reason =
      (signal ? `killed by ${signal}` : `exit status ${code}`) +
      (crashed !== undefined ? `: ${crashed}` : last !== undefined ? `; last stderr line: ${last.trim()}` : '');
  }
  return [{ benchmark: name, unmeasured: 'the whole benchmark', reason }];
}

/** The exit status of a whole run: 0 when everything was measured, 3 otherwise. */
export function suiteExitCode(unmeasured: readonly SuiteUnmeasured[]): number {
  return unmeasured.length === 0 ? EXIT_ALL_MEASURED : EXIT_SOME_UNMEASURED;
}
