/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and adds self time up by where the code lives:
 * this server's own modules, each npm package, Node internals, GC and idle.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable, round } from './kit.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Milliseconds of samples that were not idle. */
  busyMs: number;
  totalMs: number;
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

/**
 * Self time by category and function. With `betweenIdleGapsMs`, only samples between the first
 * and the last stretch of at least that many milliseconds of idle are counted: a driver that
 * pauses before and after the workload cuts process start-up and shutdown out of the profile.
 */
export function summarizeProfile(
  path: string,
  top = 15,
  betweenIdleGapsMs?: number,
  groups: Record<string, StackMatcher> = {},
): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
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
  const isIdle = (id: number): boolean => byId.get(id)?.callFrame.functionName === '(idle)';
  let from = 0;
  let to = profile.samples.length;
  if (betweenIdleGapsMs !== undefined) {
    const gaps: { start: number; end: number }[] = [];
    let runStart = -1;
    let runUs = 0;
    profile.samples.forEach((id, i) => {
      if (isIdle(id)) {
        if (runStart < 0) [runStart, runUs] = [i, 0];
        runUs += profile.timeDeltas[i + 1] ?? 0;
      } else if (runStart >= 0) {
        if (runUs >= betweenIdleGapsMs * 1000) gaps.push({ start: runStart, end: i });
        runStart = -1;
      }
    });
    const first = gaps[0];
    const last = gaps[gaps.length - 1];
    if (!first || !last || first === last)
      throw new Error(`${path}: fewer than two idle gaps of ${betweenIdleGapsMs} ms`);
    [from, to] = [first.end, last.start];
  }
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
