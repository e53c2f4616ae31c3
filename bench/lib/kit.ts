/**
 * Shared bench plumbing: timing statistics, interleaved rounds, markdown tables and the
 * results JSON every benchmark writes under bench/results/. Benchmarks are not tests: they
 * print numbers and ratios, and never fail on them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { childrenByParent, procTable, processTree } from '../../test/helpers/proc.js';
import type { Unmeasured } from './unmeasured.js';

/**
 * Where results go: bench/results/, or $BENCH_RESULTS_DIR (a trial run that should not replace
 * the recorded results).
 */
export const RESULTS_DIR = process.env.BENCH_RESULTS_DIR
  ? `${process.env.BENCH_RESULTS_DIR.replace(/\/+$/, '')}/`
  : fileURLToPath(new URL('../results/', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** Percentile by linear interpolation between closest ranks (the same as numpy's default). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, x) => s + x, 0);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean: sum / Math.max(1, sorted.length),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface Contestant {
  name: string;
  /**
   * One timed operation. Throwing means a wrong answer, which is not a fast answer: the
   * contestant is out (see `interleaved`'s `onFailure`), none of its samples are kept.
   */
  run(): Promise<void>;
}

/**
 * Runs `warmup` untimed then `rounds` timed operations of every contestant. The contestants
 * take turns in blocks of `block` consecutive operations, the starting one rotating, so drift
 * of the machine (frequency, other load, GC) falls on everyone alike. `block` 1 means every
 * operation follows another contestant's (each connection has sat idle a moment: TCP is in
 * quick-ACK mode again); a larger block means back-to-back operations on the same connection,
 * as a script or a busy agent would issue them. Returns milliseconds per contestant.
 *
 * A contestant whose operation throws is out: with `onFailure`, it is told which and why, the
 * contestant's samples are dropped and the others go on taking turns; without, the error
 * propagates (and the whole call is lost).
 */
export async function interleaved(
  contestants: Contestant[],
  rounds: number,
  warmup: number,
  opts: { block?: number; onProgress?: (done: number) => void; onFailure?: (name: string, err: unknown) => void } = {},
): Promise<Map<string, number[]>> {
  const block = Math.max(1, opts.block ?? 1);
  const samples = new Map<string, number[]>(contestants.map((c) => [c.name, []]));
  const live = [...contestants];
  const out = (c: Contestant, err: unknown): void => {
    if (!opts.onFailure) throw err;
    live.splice(live.indexOf(c), 1);
    samples.delete(c.name);
    opts.onFailure(c.name, err);
  };
  for (let i = 0; i < warmup; i++) {
    for (const c of [...live]) {
      try {
        await c.run();
      } catch (err) {
        out(c, err);
      }
    }
  }
  for (let done = 0, turn = 0; done < rounds && live.length > 0; done += block, turn++) {
    const n = Math.min(block, rounds - done);
    const order = live.map((_, k) => live[(turn + k) % live.length] as Contestant);
    for (const c of order) {
      const list = samples.get(c.name) as number[];
      try {
        for (let j = 0; j < n; j++) {
          const t0 = performance.now();
          await c.run();
          list.push(performance.now() - t0);
        }
      } catch (err) {
        out(c, err);
      }
    }
    opts.onProgress?.(done + n);
  }
  return samples;
}

/** A GitHub-flavoured markdown table (also readable in a terminal). */
export function markdownTable(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? String(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length), 3));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 3)).join(' | ')} |`;
  return [
    line(cells[0] ?? []),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

export function machineInfo(): Record<string, unknown> {
  let commit = 'unknown';
  let dirty = false;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO_ROOT, encoding: 'utf8' }) !== '';
  } catch {
    /* not a git checkout */
  }
  // `ssh -V` prints its version on stderr.
  const ssh = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
  const openssh = `${ssh.stderr ?? ''}${ssh.stdout ?? ''}`.trim() || 'unknown';
  const pkg = JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { version: string };
  return {
    commit,
    src_modified_since_commit: dirty,
    version: pkg.version,
    node: process.version,
    os: `${process.platform} ${release()}`,
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_gib: round(totalmem() / 2 ** 30, 1),
    openssh,
  };
}

export interface TargetCheck {
  target: string;
  value: number;
  limit: number;
  met: boolean;
}

export function target(description: string, value: number, limit: number): TargetCheck {
  return { target: description, value: round(value, 3), limit, met: value <= limit };
}

/**
 * The targets whose value could be computed: one whose inputs were not measured (a NaN ratio)
 * is left out rather than shown as missed; the "Not measured" list says what is missing.
 */
export function measuredTargets(checks: TargetCheck[]): TargetCheck[] {
  return checks.filter((c) => Number.isFinite(c.value));
}

/**
 * Writes bench/results/<name>.json, formatted as the repository's prettier check wants it, and
 * returns its path. `unmeasured` (the benchmark's Ledger entries) is always written, right after
 * the machine, empty when everything was measured; files written before it existed have none,
 * which means the same.
 */
export function writeResults(name: string, payload: { unmeasured?: Unmeasured[]; [key: string]: unknown }): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${name}.json`;
  const { unmeasured = [], ...rest } = payload;
  const doc = { benchmark: name, date: new Date().toISOString(), machine: machineInfo(), unmeasured, ...rest };
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  formatFile(file);
  return file;
}

/** Formats a results file the way the repository's `prettier --check` wants it. */
export function formatFile(file: string): void {
  try {
    const prettier = createRequire(import.meta.url).resolve('prettier/bin/prettier.cjs');
    execFileSync(process.execPath, [prettier, '--write', '--log-level', 'warn', file], { stdio: 'inherit' });
  } catch {
    /* an unformatted file still holds valid results */
  }
}

export function printTargets(checks: TargetCheck[]): string {
  return markdownTable(
    ['target', 'measured', 'limit', 'met'],
    checks.map((c) => [c.target, c.value, c.limit, c.met ? 'yes' : 'NO']),
  );
}

/** Reads VmRSS (KiB) of a process from /proc (Linux). */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `--rounds N` style overrides for quick runs (`npm run bench -- --rounds 50`). */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/**
 * CPU milliseconds (user + system) a process has used so far, from /proc/<pid>/stat (Linux);
 * with `tid`, only that thread's (/proc/<pid>/task/<tid>/stat; the main thread's tid is the pid).
 */
export function processCpuMs(pid: number, tid?: number): number {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 is state; utime and stime are fields 14 and 15 overall.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS;
}

/**
 * CPU milliseconds of the processes `roots` and every live descendant so far, each with the
 * children it has reaped (cutime + cstime), from /proc (Linux). A live process's own time is
 * read from its threads' schedstat (nanoseconds): stat's utime and stime are whole 10 ms ticks,
 * and short-lived sshd per-connection processes would round to nothing. A process that exits
 * is counted in its reaper's cutime from then on, so the sum only grows, as long as no process
 * leaves the tree by being re-parented. Call it when the tree is quiet (nothing exiting).
 */
export function processTreeCpuMs(roots: number[]): number {
  const table = procTable();
  const reapedTicks = new Map(table.map((p) => [p.pid, p.reapedTicks]));
  let ms = 0;
  for (const pid of processTree(roots, childrenByParent(table))) {
    ms += ((reapedTicks.get(pid) ?? 0) * 1000) / CLOCK_TICKS;
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        // The first field of schedstat is the time spent on a CPU, in nanoseconds.
        ms += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
      }
    } catch {
      /* exited while we looked */
    }
  }
  return ms;
}

/** Busy CPU milliseconds of the whole machine so far (all cores, not idle or iowait), from /proc/stat. */
export function machineBusyCpuMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  const ticks = [user, nice, system, irq, softirq, steal].reduce((s: number, x) => s + (x ?? 0), 0);
  return (ticks * 1000) / CLOCK_TICKS;
}

/** USER_HZ; 100 on every mainstream Linux build. */
const CLOCK_TICKS = 100;
