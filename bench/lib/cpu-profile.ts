/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and adds self time up by where the code lives:
 * this server's own modules, each npm package, Node internals, GC and idle; optionally only
 * over the window a driver marked with `monotonicUs()` around its workload.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable, round } from './kit.js';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Milliseconds of samples that were not idle. */
  busyMs: number;
  /** Milliseconds of all samples counted (in the window, when one was given). */
  totalMs: number;
  /** Samples counted. */
  samples: number;
  byCategory: { category: string; ms: number; share: number }[];
  topFunctions: { fn: string; where: string; ms: number }[];
  /** Per group asked for: milliseconds of the samples whose stack the group matches. */
  inclusive: { group: string; ms: number }[];
}

/** A stack frame as a group matcher sees it. */
export interface Frame {
  functionName: string;
  url: string;
}

/** Picks samples by their stack, innermost frame (the one sampled) first. */
export type StackMatcher = (stack: readonly Frame[]) => boolean;

/** Inclusive time of the frames `match` picks: samples with at least one of them on the stack. */
export function anyFrame(match: (frame: Frame) => boolean): StackMatcher {
  return (stack) => stack.some(match);
}

/** Where a frame's code lives: `ours:<file>`, an npm package name, `node:<module>`, or a V8 pseudo-frame. */
export function categoryOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  // This repository's dist/.
  const ours = /(?:^|\/)dist\/(.+)\.js$/.exec(url);
  if (ours && !url.includes('node_modules/')) return `ours:${ours[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/')[0] as string;
  return url;
}

/** Microseconds on the system's monotonic clock: the clock V8 stamps a .cpuprofile's samples with. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * A stretch of a profile, by the CLOCK_MONOTONIC microseconds (`monotonicUs()`) a driver read
 * around the work it caused. That clock is system-wide on Linux, and V8 stamps its samples with
 * it, so a driver in another process can mark the window with no heuristics about idle time.
 */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

/** When each sample was taken: `startTime` plus the deltas up to and including its own. */
export function sampleTimes(profile: Pick<CpuProfile, 'startTime' | 'timeDeltas' | 'samples'>): number[] {
  const times: number[] = [];
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    times.push(t);
  }
  return times;
}

/**
 * The samples [from, to) taken inside `window`. Throws when the window is not inside the
 * profile's own span (the markers were read on another clock, or the profile is another
 * process's), or holds no sample.
 */
export function windowSamples(profile: CpuProfile, window: ProfileWindow): { from: number; to: number } {
  const { fromUs, toUs } = window;
  if (!(fromUs < toUs)) throw new Error(`empty profile window ${fromUs}..${toUs} µs`);
  if (fromUs < profile.startTime || toUs > profile.endTime)
    throw new Error(
      `profile window ${fromUs}..${toUs} µs is not inside the profile's ${profile.startTime}..${profile.endTime} µs ` +
        `(markers on another clock?)`,
    );
  const times = sampleTimes(profile);
  let from = 0;
  while (from < times.length && (times[from] as number) < fromUs) from++;
  let to = from;
  while (to < times.length && (times[to] as number) <= toUs) to++;
  if (to === from) throw new Error(`no samples in the profile window ${fromUs}..${toUs} µs`);
  return { from, to };
}

export interface SummarizeOptions {
  /** Functions to list, by self time. */
  top?: number;
  /** Only the samples taken in this window (default: the whole profile). */
  window?: ProfileWindow;
  /** Inclusive time of these groups of stacks. */
  groups?: Record<string, StackMatcher>;
}

/** Self time by category and function of the .cpuprofile at `path`. */
export function summarizeProfile(path: string, opts: SummarizeOptions = {}): ProfileSummary {
  return summarizeProfileData(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, opts);
}

/**
 * Self time by category and function. With `window`, only the samples the driver's markers
 * bracket are counted: a driver that reads `monotonicUs()` before and after the workload cuts
 * process start-up, warm-up and shutdown out of the profile, however busy the machine is.
 */
export function summarizeProfileData(profile: CpuProfile, opts: SummarizeOptions = {}): ProfileSummary {
  const { top = 15, window, groups = {} } = opts;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const stackOf = (id: number): Frame[] => {
    const stack: Frame[] = [];
    for (let n: number | undefined = id; n !== undefined; n = parentOf.get(n)) {
      const node = byId.get(n);
      if (node) stack.push(node.callFrame);
    }
    return stack;
  };
  const { from, to } = window ? windowSamples(profile, window) : { from: 0, to: profile.samples.length };
  const selfUs = new Map<number, number>();
  for (let i = from; i < to; i++) {
    const id = profile.samples[i] as number;
    // timeDeltas[i] is the time before sample i; the time a sample stands for is the next delta.
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const categories = new Map<string, number>();
  const functions = new Map<string, { fn: string; where: string; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    totalUs += us;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const category = categoryOf(url, functionName);
    categories.set(category, (categories.get(category) ?? 0) + us);
    const key = `${functionName}|${url}|${lineNumber}`;
    const entry = functions.get(key) ?? {
      fn: functionName || '(anonymous)',
      where: `${category}:${lineNumber + 1}`,
      us: 0,
    };
    entry.us += us;
    functions.set(key, entry);
  }
  const busyUs = totalUs - idleUs;
  const stacks =
    Object.keys(groups).length > 0 ? new Map([...selfUs.keys()].map((id) => [id, stackOf(id)])) : new Map();
  const inclusive = Object.entries(groups).map(([group, match]) => {
    let us = 0;
    for (const [id, t] of selfUs) if (match(stacks.get(id) ?? [])) us += t;
    return { group, ms: us / 1000 };
  });
  return {
    busyMs: busyUs / 1000,
    totalMs: totalUs / 1000,
    samples: to - from,
    byCategory: [...categories]
      .map(([category, us]) => ({ category, ms: us / 1000, share: us / Math.max(1, busyUs) }))
      .sort((a, b) => b.ms - a.ms),
    topFunctions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ fn: f.fn, where: f.where, ms: f.us / 1000 })),
    inclusive,
  };
}

/** The .cpuprofile a process started with `--cpu-prof-dir=<dir>` writes as it exits, once it is there. */
export async function waitForProfile(dir: string, timeoutMs = 10_000): Promise<string> {
  for (const t0 = Date.now(); Date.now() - t0 < timeoutMs;) {
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file) return join(dir, file);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no CPU profile written in ${dir}`);
}

/**
 * The two tables every profiled benchmark prints: self time by category (the first
 * `categories`) and by function, each in CPU µs per unit of work (`perUnit` converts ms).
 */
export function selfTimeTables(
  summary: ProfileSummary,
  perUnit: (ms: number) => number,
  unit: string,
  categories: number,
): { byCategory: string; functions: string } {
  return {
    byCategory: markdownTable(
      ['where (self time)', `CPU µs per ${unit}`, 'share'],
      summary.byCategory.slice(0, categories).map((c) => [c.category, perUnit(c.ms), `${round(c.share * 100, 1)}%`]),
    ),
    functions: markdownTable(
      ['function (self time)', 'where', `CPU µs per ${unit}`],
      summary.topFunctions.map((f) => [f.fn, f.where, perUnit(f.ms)]),
    ),
  };
}
