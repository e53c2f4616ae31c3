/**
 * `mcp-ssh-orchestrator watch`: anomaly detection on the audit stream (the baseline idea of
 * a security watchdog applied to policy decisions, executions and security events).
 *
 * The first check learns a baseline; every later check compares the new lines against it
 * and reports, with a severity (critical, high, medium, low): a broken audit chain, security
 * events, command rate spikes per host, denial and authentication failure spikes, new hosts,
 * a host reached at a new IP, new commands (hashes) on a host, bad input and clock skew. The
 * baseline and the read position in each file live in a state directory, so `--once` from
 * cron and a long-running `--interval` both see each line once. `--reset` starts a new
 * baseline (after an intended change).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { chainDigest, genesisDigest } from '../telemetry/audit-chain.js';
import { keyFromEnv, runCommand, UsageError, writeText, type CommandIo } from './cli-util.js';
import { checkEvent, isoOf, parseTime } from './events.js';
import { elasticsearchSource } from './sources.js';
import {
  checkReadable,
  countLine,
  emptyStats,
  formatRef,
  InputError,
  parseLines,
  splitLines,
  unknownTypeCount,
  type InputStats,
  type LineRef,
  type ParsedLine,
  type RawLine,
} from './input.js';
import { loadThresholds, SEVERITIES, type Severity, type Thresholds } from './thresholds.js';
import { CHAINED_LINE_TYPES } from './verify.js';

export type AnomalyKind =
  | 'chain_broken'
  | 'security_event'
  | 'command_rate'
  | 'command_rate_spike'
  | 'denial_spike'
  | 'auth_failure_spike'
  | 'new_host'
  | 'new_target_ip'
  | 'new_command'
  | 'bad_input'
  | 'clock_skew';

export interface Anomaly {
  severity: Severity;
  kind: AnomalyKind;
  alias?: string;
  message: string;
  /** First line of the input where it showed. */
  at?: LineRef;
  details: Record<string, unknown>;
}

// ---- state on disk ----

const hostBaseline = z.object({
  first_seen: z.number(),
  last_seen: z.number(),
  active_minutes: z.number(),
  decisions: z.number(),
  denials: z.number(),
  executions: z.number(),
  auth_failures: z.number(),
  peak_per_minute: z.number(),
  /** Target IP → last seen (Unix seconds). */
  target_ips: z.record(z.string(), z.number()),
  /** Command hash → last seen. */
  hashes: z.record(z.string(), z.number()),
});
export type HostBaseline = z.infer<typeof hostBaseline>;

const baselineSchema = z.object({
  version: z.literal(1),
  created_at: z.string(),
  updated_at: z.string(),
  checks: z.number(),
  first_event: z.number().nullable(),
  last_event: z.number().nullable(),
  hosts: z.record(z.string(), hostBaseline),
  totals: z.object({
    active_minutes: z.number(),
    decisions: z.number(),
    denials: z.number(),
    auth_failures: z.number(),
  }),
});
export type Baseline = z.infer<typeof baselineSchema>;

const cursorSchema = z.object({
  version: z.literal(1),
  files: z.record(
    z.string(),
    z.object({
      ino: z.number(),
      offset: z.number(),
      line: z.number(),
      /** SHA-256 of the bytes just before `offset`: tells a file truncated and refilled from one that grew. */
      mark: z.string(),
    }),
  ),
  chains: z.record(z.string(), z.object({ seq: z.number(), digest: z.string(), last_seen: z.number() })),
  /** Whether chained lines were ever seen (unchained policy/audit lines are then suspicious). */
  chained: z.boolean(),
  /** Reading Elasticsearch: the latest @timestamp read, and the documents of that millisecond already read. */
  es: z.object({ since: z.string(), ids: z.array(z.string()) }).optional(),
});
export type Cursor = z.infer<typeof cursorSchema>;

export function newBaseline(now: Date): Baseline {
  return {
    version: 1,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
    checks: 0,
    first_event: null,
    last_event: null,
    hosts: {},
    totals: { active_minutes: 0, decisions: 0, denials: 0, auth_failures: 0 },
  };
}

export function newCursor(): Cursor {
  return { version: 1, files: {}, chains: {}, chained: false };
}

async function readState<T>(path: string, schema: z.ZodType<T>, fresh: () => T): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fresh();
    throw new InputError(`${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is damaged (not JSON): run with --reset to start a new baseline`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new UsageError(
      `${path} is damaged or from another version (${i?.path.join('.') || 'top level'}: ${i?.message}): run with --reset`,
    );
  }
  return parsed.data;
}

/** Writes a file atomically: a crash leaves the old state or the new one, never half of it. */
async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}

export class WatchState {
  constructor(readonly dir: string) {}
  get baselinePath(): string {
    return join(this.dir, 'baseline.json');
  }
  get cursorPath(): string {
    return join(this.dir, 'cursor.json');
  }
  loadBaseline(now: Date): Promise<Baseline> {
    return readState(this.baselinePath, baselineSchema, () => newBaseline(now));
  }
  loadCursor(): Promise<Cursor> {
    return readState(this.cursorPath, cursorSchema, newCursor);
  }
  async save(baseline: Baseline, cursor: Cursor): Promise<void> {
    await writeAtomic(this.baselinePath, `${JSON.stringify(baseline)}\n`);
    await writeAtomic(this.cursorPath, `${JSON.stringify(cursor)}\n`);
  }
  /** Forgets what was learned; where each file was read up to is kept. */
  async reset(): Promise<void> {
    await rm(this.baselinePath, { force: true });
  }
  async record(anomalies: Anomaly[], check: number, bulletin: string, now: Date): Promise<void> {
    if (anomalies.length > 0) {
      const ts = now.getTime() / 1000;
      await appendFile(
        join(this.dir, 'anomalies.jsonl'),
        anomalies.map((a) => JSON.stringify({ ts, check, ...a })).join('\n') + '\n',
        { mode: 0o600 },
      );
    }
    await writeAtomic(join(this.dir, 'bulletin.txt'), bulletin);
  }

  /** One watch per state directory at a time; a lock left by a dead process is taken over. */
  async lock(): Promise<() => Promise<void>> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(path, 'wx', 0o600);
        await fh.writeFile(String(process.pid));
        await fh.close();
        return () => rm(path, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
          throw new UsageError(`another watch (pid ${pid}) is using the state directory ${this.dir}`);
        }
        await rm(path, { force: true });
      }
    }
    throw new UsageError(`cannot lock the state directory ${this.dir}`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---- one check ----

interface HostWindow {
  decisions: number;
  denials: number;
  executions: number;
  authFailures: number;
  /** minute → commands (policy decisions), denials, auth failures. */
  minutes: Map<number, { commands: number; denials: number; auth: number }>;
  ips: Map<string, LineRef>;
  hashes: Map<string, LineRef>;
  first: LineRef;
  firstTs: number;
  lastTs: number;
}

export interface CheckSummary {
  check: number;
  status: 'baseline_created' | 'learning' | 'ok' | 'anomalies';
  anomalies: Record<Severity, number>;
  window: {
    lines: number;
    events: number;
    hosts: number;
    commands: number;
    denied: number;
    executions: number;
    security_events: number;
    noise: number;
    unknown_type: number;
    invalid: number;
    first_event: string | null;
    last_event: string | null;
  };
  baseline: { since: string; checks: number; hosts: number; hashes: number };
}

export interface CheckResult {
  anomalies: Anomaly[];
  summary: CheckSummary;
}

const minuteOf = (ts: number): number => Math.floor(ts / 60);

/**
 * One check: push the new lines, then finish() compares them with the baseline, returns the
 * anomalies and updates baseline and cursor (in memory; the caller saves them).
 */
export class WatchCheck {
  private readonly stats: InputStats = emptyStats();
  private readonly hosts = new Map<string, HostWindow>();
  private readonly security = new Map<
    string,
    { type: string; alias?: string; count: number; at: LineRef; sample: Record<string, unknown> }
  >();
  private readonly chainBreaks: Array<{ at: LineRef; chain: string; seq: number; reason: string }> = [];
  private chainBreakCount = 0;
  private unchained: { count: number; at?: LineRef } = { count: 0 };
  private invalid = { count: 0, samples: [] as Array<{ at: LineRef; detail: string }> };
  private readonly skew = { backwards: 0, maxBackwards: 0, late: 0, future: 0, at: undefined as LineRef | undefined };
  private lastTs: number | undefined;
  private firstEvent: number | undefined;
  private lastEvent: number | undefined;
  private readonly learning: boolean;
  private readonly firstCheck: boolean;

  constructor(
    private readonly baseline: Baseline,
    private readonly cursor: Cursor,
    private readonly t: Thresholds,
    private readonly opts: { key?: string; now: Date; ordered?: boolean },
  ) {
    this.firstCheck = baseline.checks === 0;
    this.learning = baseline.checks < t.baseline.learning_checks;
  }

  /** Chained lines of a source without written order (Elasticsearch), linked in seq order at the end. */
  private readonly unordered: Array<Extract<ParsedLine, { kind: 'event' }>> = [];

  push(p: ParsedLine): void {
    countLine(this.stats, p);
    if (p.kind !== 'event') return;
    if (this.opts.ordered === false) {
      // Only documents that kept their exact line (event.original) can be checked.
      if (p.text !== '' && p.record.chain_id !== undefined) this.unordered.push(p);
      else if (p.text !== '') this.chainLink(p);
    } else this.chainLink(p);
    const checked = checkEvent(p.record, p.type);
    if (!checked.ok) {
      if (checked.reason === 'invalid') {
        this.invalid.count++;
        if (this.invalid.samples.length < 3) this.invalid.samples.push({ at: p.ref, detail: checked.detail });
      }
      return;
    }
    const e = checked.event;
    this.time(e.ts, p.ref);
    switch (e.type) {
      case 'policy_decision': {
        const h = this.host(e.alias, p.ref, e.ts);
        const m = this.minute(h, e.ts);
        h.decisions++;
        m.commands++;
        if (!e.allowed) {
          h.denials++;
          m.denials++;
        }
        if (!h.hashes.has(e.hash)) h.hashes.set(e.hash, p.ref);
        return;
      }
      case 'audit': {
        const h = this.host(e.alias, p.ref, e.ts);
        h.executions++;
        if (e.target_ip !== null && !h.ips.has(e.target_ip)) h.ips.set(e.target_ip, p.ref);
        if (!h.hashes.has(e.hash)) h.hashes.set(e.hash, p.ref);
        return;
      }
      case 'security_event': {
        if (e.event_type === 'authentication_failed' && e.alias !== undefined) {
          const h = this.host(e.alias, p.ref, e.ts);
          h.authFailures++;
          this.minute(h, e.ts).auth++;
        }
        const key = `${e.event_type}\u0000${e.alias ?? ''}`;
        const s = this.security.get(key);
        if (s) s.count++;
        else {
          const { type: _t, ts: _ts, ...sample } = e;
          this.security.set(key, {
            type: e.event_type,
            ...(e.alias !== undefined ? { alias: e.alias } : {}),
            count: 1,
            at: p.ref,
            sample,
          });
        }
        return;
      }
      default:
        return;
    }
  }

  private chainLink(p: Extract<ParsedLine, { kind: 'event' }>): void {
    const { chain_id: chainId, seq, prev_hash: prev } = p.record;
    if (chainId === undefined && seq === undefined && prev === undefined) {
      if (p.type !== undefined && CHAINED_LINE_TYPES.has(p.type)) {
        this.unchained.count++;
        this.unchained.at ??= p.ref;
      }
      return;
    }
    this.cursor.chained = true;
    if (typeof chainId !== 'string' || typeof seq !== 'number' || typeof prev !== 'string') {
      this.breakChain(p.ref, String(chainId), Number(seq), 'chain fields altered');
      return;
    }
    const digest = chainDigest(p.text, this.opts.key);
    const state = this.cursor.chains[chainId];
    const now = this.opts.now.getTime() / 1000;
    if (state) {
      if (seq !== state.seq + 1) {
        this.breakChain(
          p.ref,
          chainId,
          seq,
          seq > state.seq + 1 ? `seq ${state.seq + 1}–${seq - 1} missing` : `seq ${seq} after ${state.seq}`,
        );
      } else if (prev !== state.digest) {
        this.breakChain(
          p.ref,
          chainId,
          seq,
          'prev_hash does not match the previous chained line (modified or inserted)',
        );
      }
    } else if (seq === 1 && prev !== genesisDigest(chainId, this.opts.key)) {
      this.breakChain(p.ref, chainId, seq, 'first line does not link to the chain start (altered, or the wrong key)');
    } else if (seq > 1 && !this.firstCheck) {
      this.breakChain(p.ref, chainId, seq, `chain first seen at seq ${seq}: earlier lines were not seen`);
    }
    this.cursor.chains[chainId] = { seq, digest, last_seen: now };
  }

  private breakChain(at: LineRef, chain: string, seq: number, reason: string): void {
    this.chainBreakCount++;
    if (this.chainBreaks.length < 5) this.chainBreaks.push({ at, chain, seq, reason });
  }

  private time(ts: number, ref: LineRef): void {
    const tol = this.t.clock_skew.tolerance_seconds;
    if (this.lastTs !== undefined && ts < this.lastTs - tol) {
      this.skew.backwards++;
      this.skew.maxBackwards = Math.max(this.skew.maxBackwards, this.lastTs - ts);
      this.skew.at ??= ref;
    }
    if (this.baseline.last_event !== null && ts < this.baseline.last_event - tol) {
      this.skew.late++;
      this.skew.at ??= ref;
    }
    if (ts > this.opts.now.getTime() / 1000 + this.t.clock_skew.future_seconds) {
      this.skew.future++;
      this.skew.at ??= ref;
    }
    this.lastTs = this.lastTs === undefined ? ts : Math.max(this.lastTs, ts);
    this.firstEvent = this.firstEvent === undefined ? ts : Math.min(this.firstEvent, ts);
    this.lastEvent = this.lastEvent === undefined ? ts : Math.max(this.lastEvent, ts);
  }

  private host(alias: string, ref: LineRef, ts: number): HostWindow {
    let h = this.hosts.get(alias);
    if (!h) {
      h = {
        decisions: 0,
        denials: 0,
        executions: 0,
        authFailures: 0,
        minutes: new Map(),
        ips: new Map(),
        hashes: new Map(),
        first: ref,
        firstTs: ts,
        lastTs: ts,
      };
      this.hosts.set(alias, h);
    }
    h.firstTs = Math.min(h.firstTs, ts);
    h.lastTs = Math.max(h.lastTs, ts);
    return h;
  }

  private minute(h: HostWindow, ts: number): { commands: number; denials: number; auth: number } {
    const k = minuteOf(ts);
    let m = h.minutes.get(k);
    if (!m) {
      m = { commands: 0, denials: 0, auth: 0 };
      h.minutes.set(k, m);
    }
    return m;
  }

  finish(): CheckResult {
    const key = (p: Extract<ParsedLine, { kind: 'event' }>): [string, number] => [
      String(p.record.chain_id),
      Number(p.record.seq),
    ];
    this.unordered.sort((a, b) => {
      const [ca, sa] = key(a);
      const [cb, sb] = key(b);
      return ca === cb ? sa - sb : ca < cb ? -1 : 1;
    });
    for (const p of this.unordered) this.chainLink(p);
    const out: Anomaly[] = [];
    const t = this.t;
    const add = (severity: Severity | 'off', a: Omit<Anomaly, 'severity'>): void => {
      if (severity !== 'off') out.push({ severity, ...a });
    };

    // Integrity first: an altered log makes every other finding doubtful.
    if (this.chainBreakCount > 0) {
      const b = this.chainBreaks[0];
      add(t.chain.severity, {
        kind: 'chain_broken',
        message:
          `audit chain broken ${this.chainBreakCount} time(s), first at ${b ? formatRef(b.at) : '?'}` +
          `${b ? ` (chain ${b.chain}, seq ${b.seq}): ${b.reason}` : ''}; run \`mcp-ssh-orchestrator verify\` on the log`,
        ...(b ? { at: b.at } : {}),
        details: { breaks: this.chainBreakCount, first: this.chainBreaks },
      });
    }
    if (this.unchained.count > 0 && this.cursor.chained) {
      add(t.chain.severity, {
        kind: 'chain_broken',
        message: `${this.unchained.count} policy/audit/security line(s) without chain fields in a chained log, first at ${this.unchained.at ? formatRef(this.unchained.at) : '?'}: inserted, or a server without --audit-chain`,
        ...(this.unchained.at ? { at: this.unchained.at } : {}),
        details: { unchained_lines: this.unchained.count },
      });
    }

    for (const s of this.security.values()) {
      const sev = t.security_events[s.type as keyof Thresholds['security_events']] ?? 'medium';
      add(sev, {
        kind: 'security_event',
        ...(s.alias !== undefined ? { alias: s.alias } : {}),
        message: `${s.type}${s.alias !== undefined ? ` on ${s.alias}` : ''}: ${s.count} event(s)`,
        at: s.at,
        details: { event_type: s.type, count: s.count, first: s.sample },
      });
    }

    const learning = this.learning;
    const fleet = this.baseline.totals;
    for (const [alias, h] of [...this.hosts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const base = this.baseline.hosts[alias];
      const peak = Math.max(0, ...[...h.minutes.values()].map((m) => m.commands));
      const peakAuth = Math.max(0, ...[...h.minutes.values()].map((m) => m.auth));
      // Command rate: an absolute ceiling, then a spike against the host's own baseline.
      if (peak >= t.command_rate.max_per_minute) {
        add(t.command_rate.severity, {
          kind: 'command_rate',
          alias,
          message: `${alias}: ${peak} commands in one minute (limit ${t.command_rate.max_per_minute})`,
          at: h.first,
          details: { peak_per_minute: peak, max_per_minute: t.command_rate.max_per_minute },
        });
      } else if (!learning) {
        const mean =
          base && base.active_minutes > 0
            ? base.decisions / base.active_minutes
            : fleet.active_minutes > 0
              ? fleet.decisions / fleet.active_minutes
              : 0;
        if (peak >= t.command_rate.min_per_minute && peak >= t.command_rate.spike_factor * mean) {
          add(t.command_rate.severity, {
            kind: 'command_rate_spike',
            alias,
            message: `${alias}: ${peak} commands in one minute, ${mean > 0 ? `${(peak / mean).toFixed(1)}× its baseline of ${mean.toFixed(1)}` : 'no baseline rate'}`,
            at: h.first,
            details: {
              peak_per_minute: peak,
              baseline_per_minute: round(mean),
              spike_factor: t.command_rate.spike_factor,
            },
          });
        }
      }
      if (!learning) {
        // Denials: enough of them, a large enough share, and several times the usual share.
        const ratio = h.decisions > 0 ? h.denials / h.decisions : 0;
        const baseRatio =
          base && base.decisions > 0
            ? base.denials / base.decisions
            : fleet.decisions > 0
              ? fleet.denials / fleet.decisions
              : 0;
        if (
          h.denials >= t.denials.min_count &&
          ratio >= t.denials.min_ratio &&
          ratio >= Math.min(1, t.denials.spike_factor * baseRatio)
        ) {
          add(t.denials.severity, {
            kind: 'denial_spike',
            alias,
            message: `${alias}: ${h.denials} of ${h.decisions} commands denied (${pct(ratio)}; baseline ${pct(baseRatio)})`,
            at: h.first,
            details: {
              denied: h.denials,
              decisions: h.decisions,
              ratio: round(ratio),
              baseline_ratio: round(baseRatio),
            },
          });
        }
        const authMean = base && base.active_minutes > 0 ? base.auth_failures / base.active_minutes : 0;
        if (h.authFailures >= t.auth_failures.min_count && peakAuth >= t.auth_failures.spike_factor * authMean) {
          add(t.auth_failures.severity, {
            kind: 'auth_failure_spike',
            alias,
            message: `${alias}: ${h.authFailures} authentication failure(s), up to ${peakAuth} in one minute (baseline ${authMean.toFixed(2)}/min)`,
            at: h.first,
            details: { auth_failures: h.authFailures, peak_per_minute: peakAuth, baseline_per_minute: round(authMean) },
          });
        }
        if (!base) {
          add(t.new_host.severity, {
            kind: 'new_host',
            alias,
            message: `${alias}: new host (${h.decisions} command(s), target IPs ${[...h.ips.keys()].join(', ') || 'none'})`,
            at: h.first,
            details: { commands: h.decisions, target_ips: [...h.ips.keys()], hashes: h.hashes.size },
          });
        } else {
          const known = Object.keys(base.target_ips);
          const newIps = [...h.ips.entries()].filter(([ip]) => !(ip in base.target_ips));
          if (newIps.length > 0 && known.length > 0) {
            add(t.new_target_ip.severity, {
              kind: 'new_target_ip',
              alias,
              message: `${alias}: reached at new IP ${newIps.map(([ip]) => ip).join(', ')} (known: ${known.slice(0, 5).join(', ')})`,
              at: newIps[0]?.[1],
              details: { new_ips: newIps.map(([ip]) => ip), known_ips: known },
            });
          }
          const newHashes = [...h.hashes.entries()].filter(([hash]) => !(hash in base.hashes));
          if (newHashes.length > 0) {
            const listed = newHashes.slice(0, t.new_command.max_listed).map(([hash]) => hash);
            const elsewhere = listed.filter((hash) =>
              Object.entries(this.baseline.hosts).some(([a, hb]) => a !== alias && hash in hb.hashes),
            );
            add(t.new_command.severity, {
              kind: 'new_command',
              alias,
              message: `${alias}: ${newHashes.length} command(s) never run here before: ${listed.join(', ')}${newHashes.length > listed.length ? ', ...' : ''}`,
              at: newHashes[0]?.[1],
              details: { count: newHashes.length, hashes: listed, seen_on_other_hosts: elsewhere },
            });
          }
        }
      }
    }

    const unknown = unknownTypeCount(this.stats);
    const bad = this.stats.noise.total + unknown + this.invalid.count;
    if (bad >= t.bad_input.min_count) {
      const first = this.stats.noise_samples[0];
      add(t.bad_input.severity, {
        kind: 'bad_input',
        message: `${bad} line(s) that are not orchestrator events: ${this.stats.noise.total} noise (${this.stats.noise.truncated} cut off), ${unknown} of unknown type, ${this.invalid.count} not matching the contract`,
        ...(first
          ? { at: { file: first.file, line: first.line } }
          : this.invalid.samples[0]
            ? { at: this.invalid.samples[0].at }
            : {}),
        details: {
          noise: this.stats.noise,
          unknown_types: this.stats.unknown_types,
          invalid: this.invalid.count,
          samples: this.stats.noise_samples,
          invalid_samples: this.invalid.samples,
        },
      });
    }
    if (this.skew.backwards + this.skew.late + this.skew.future > 0) {
      add(t.clock_skew.severity, {
        kind: 'clock_skew',
        message:
          `timestamps out of order: ${this.skew.backwards} going backwards (up to ${round(this.skew.maxBackwards)} s), ` +
          `${this.skew.late} older than what earlier checks saw, ${this.skew.future} in the future`,
        ...(this.skew.at ? { at: this.skew.at } : {}),
        details: {
          backwards: this.skew.backwards,
          max_backwards_seconds: round(this.skew.maxBackwards),
          late: this.skew.late,
          future: this.skew.future,
        },
      });
    }

    const order = (s: Severity): number => SEVERITIES.indexOf(s);
    out.sort((a, b) => order(a.severity) - order(b.severity));
    const summary = this.summary(out);
    this.learn();
    return { anomalies: out, summary };
  }

  private summary(anomalies: Anomaly[]): CheckSummary {
    const counts = { critical: 0, high: 0, medium: 0, low: 0 };
    for (const a of anomalies) counts[a.severity]++;
    const hosts = [...this.hosts.values()];
    const check = this.baseline.checks + 1;
    const hashes = new Set(Object.values(this.baseline.hosts).flatMap((h) => Object.keys(h.hashes)));
    for (const h of hosts) for (const k of h.hashes.keys()) hashes.add(k);
    return {
      check,
      status:
        anomalies.length > 0 ? 'anomalies' : this.firstCheck ? 'baseline_created' : this.learning ? 'learning' : 'ok',
      anomalies: counts,
      window: {
        lines: this.stats.lines,
        events: this.stats.events,
        hosts: hosts.length,
        commands: hosts.reduce((a, h) => a + h.decisions, 0),
        denied: hosts.reduce((a, h) => a + h.denials, 0),
        executions: hosts.reduce((a, h) => a + h.executions, 0),
        security_events: [...this.security.values()].reduce((a, s) => a + s.count, 0),
        noise: this.stats.noise.total,
        unknown_type: unknownTypeCount(this.stats),
        invalid: this.invalid.count,
        first_event: this.firstEvent === undefined ? null : isoOf(this.firstEvent),
        last_event: this.lastEvent === undefined ? null : isoOf(this.lastEvent),
      },
      baseline: {
        since: this.baseline.created_at,
        checks: check,
        hosts: new Set([...Object.keys(this.baseline.hosts), ...this.hosts.keys()]).size,
        hashes: hashes.size,
      },
    };
  }

  /** Folds the window into the baseline (what was seen once is known from now on). */
  private learn(): void {
    const b = this.baseline;
    const now = this.opts.now;
    b.checks++;
    b.updated_at = now.toISOString();
    if (this.firstEvent !== undefined)
      b.first_event = b.first_event === null ? this.firstEvent : Math.min(b.first_event, this.firstEvent);
    if (this.lastEvent !== undefined)
      b.last_event = b.last_event === null ? this.lastEvent : Math.max(b.last_event, this.lastEvent);
    for (const [alias, h] of this.hosts) {
      const hb = (b.hosts[alias] ??= {
        first_seen: h.firstTs,
        last_seen: h.lastTs,
        active_minutes: 0,
        decisions: 0,
        denials: 0,
        executions: 0,
        auth_failures: 0,
        peak_per_minute: 0,
        target_ips: {},
        hashes: {},
      });
      hb.first_seen = Math.min(hb.first_seen, h.firstTs);
      hb.last_seen = Math.max(hb.last_seen, h.lastTs);
      hb.active_minutes += h.minutes.size;
      hb.decisions += h.decisions;
      hb.denials += h.denials;
      hb.executions += h.executions;
      hb.auth_failures += h.authFailures;
      hb.peak_per_minute = Math.max(hb.peak_per_minute, ...[...h.minutes.values()].map((m) => m.commands));
      for (const ip of h.ips.keys()) hb.target_ips[ip] = h.lastTs;
      for (const hash of h.hashes.keys()) hb.hashes[hash] = h.lastTs;
      hb.target_ips = capByRecency(hb.target_ips, this.t.baseline.max_ips_per_host);
      hb.hashes = capByRecency(hb.hashes, this.t.baseline.max_hashes_per_host);
      b.totals.active_minutes += h.minutes.size;
      b.totals.decisions += h.decisions;
      b.totals.denials += h.denials;
      b.totals.auth_failures += h.authFailures;
    }
    // Chains not seen for a week are done (their server run ended).
    const cutoff = now.getTime() / 1000 - 7 * 86400;
    for (const [id, c] of Object.entries(this.cursor.chains)) if (c.last_seen < cutoff) delete this.cursor.chains[id];
  }
}

function capByRecency(m: Record<string, number>, max: number): Record<string, number> {
  const entries = Object.entries(m);
  if (entries.length <= max) return m;
  return Object.fromEntries(entries.sort((a, b) => b[1] - a[1]).slice(0, max));
}

const round = (n: number): number => Math.round(n * 1000) / 1000;
const pct = (r: number): string => `${Math.round(r * 100)}%`;

// ---- reading new lines ----

/**
 * The complete lines a file gained since the cursor (a line not yet ended by a newline is
 * left for the next check). A file that was replaced (new inode) or truncated is read
 * from its start. .gz files are read once, whole.
 */
export async function* newLinesOf(path: string, cursor: Cursor): AsyncGenerator<RawLine> {
  const key = resolve(path);
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(`${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  let cur = cursor.files[key];
  if (!cur || cur.ino !== st.ino || st.size < cur.offset || (await markAt(path, cur.offset)) !== cur.mark) {
    cur = { ino: st.ino, offset: 0, line: 0, mark: '' };
  }
  cursor.files[key] = cur;
  if (st.size === cur.offset) return;
  if (path.endsWith('.gz')) {
    const { createGunzip } = await import('node:zlib');
    for await (const l of splitLines(createReadStream(path).pipe(createGunzip()), path)) yield l;
    cur.offset = st.size;
    cur.mark = await markAt(path, cur.offset);
    return;
  }
  const stream = createReadStream(path, { start: cur.offset, end: st.size - 1 });
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      let text = buf.toString('utf8', start, nl);
      if (text.endsWith('\r')) text = text.slice(0, -1);
      cur.offset += nl + 1 - start;
      cur.line++;
      start = nl + 1;
      yield { ref: { file: path, line: cur.line }, text };
    }
    carry = buf.subarray(start);
  }
  cur.mark = await markAt(path, cur.offset);
}

const MARK_BYTES = 256;

/** The fingerprint of the bytes before `offset` ('' at the start of a file). */
async function markAt(path: string, offset: number): Promise<string> {
  if (offset === 0) return '';
  const fh = await open(path, 'r');
  try {
    const len = Math.min(MARK_BYTES, offset);
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, offset - len);
    return createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex');
  } finally {
    await fh.close();
  }
}

/**
 * The documents Elasticsearch gained since the cursor: from the latest @timestamp read (the
 * millisecond included, the documents of it already read left out), or from --from (else
 * everything) on the first check.
 */
async function* newDocumentsOf(
  url: string,
  index: string | undefined,
  headers: Record<string, string>,
  cursor: Cursor,
  firstFrom: number | undefined,
): AsyncGenerator<ParsedLine> {
  const since = cursor.es?.since;
  const ms = (t: string): string => t.slice(0, 23);
  let latest = since ?? '';
  let ids = new Set(cursor.es?.ids ?? []);
  const seen = new Set<string>();
  const source = elasticsearchSource({
    url,
    index,
    headers,
    from: since !== undefined ? Date.parse(`${ms(since)}Z`) / 1000 : firstFrom,
    skipIds: ids,
    onHit: (hit) => {
      if (hit.timestamp > latest) {
        if (ms(hit.timestamp) !== ms(latest)) seen.clear();
        latest = hit.timestamp;
      }
      if (ms(hit.timestamp) === ms(latest)) seen.add(hit.id);
    },
  });
  yield* source.lines();
  if (latest !== '') {
    if (since !== undefined && ms(latest) === ms(since)) for (const id of seen) ids.add(id);
    else ids = seen;
    cursor.es = { since: latest, ids: [...ids] };
  }
}

// ---- output ----

const ICON: Record<CheckSummary['status'], string> = {
  baseline_created: '✓ BASELINE CREATED',
  learning: '✓ LEARNING',
  ok: '✓ ALL OK',
  anomalies: '⚠',
};

export function formatBulletin(r: CheckResult, now: Date): string {
  const s = r.summary;
  const rule = '='.repeat(72);
  const worst = SEVERITIES.find((sev) => s.anomalies[sev] > 0);
  const status =
    s.status === 'anomalies' && worst
      ? `⚠ ${worst.toUpperCase()} SEVERITY ANOMAL${r.anomalies.length === 1 ? 'Y' : 'IES'} (${r.anomalies.length})`
      : ICON[s.status];
  const lines = [
    rule,
    'mcp-ssh-orchestrator watch - audit bulletin',
    `Generated: ${now.toISOString()}   check #${s.check}   baseline since ${s.baseline.since}`,
    rule,
    `Status: ${status}`,
    '',
  ];
  if (r.anomalies.length === 0) {
    lines.push(
      s.status === 'baseline_created'
        ? 'Baseline created from this window; deviations are reported from the next check.'
        : 'No anomalies.',
    );
  }
  for (const a of r.anomalies) lines.push(`[${a.severity.toUpperCase()}] ${a.kind}: ${a.message}`);
  const w = s.window;
  lines.push(
    '-'.repeat(72),
    `Window: ${w.lines} line(s), ${w.events} event(s), ${w.hosts} host(s), ${w.commands} command(s) (${w.denied} denied), ` +
      `${w.executions} run(s), ${w.security_events} security event(s)`,
    `        ${w.first_event ?? '-'} to ${w.last_event ?? '-'}; ${w.noise} noise, ${w.unknown_type} unknown type, ${w.invalid} invalid`,
    `Baseline: ${s.baseline.hosts} host(s), ${s.baseline.hashes} command hash(es), ${s.baseline.checks} check(s)`,
    rule,
  );
  return lines.join('\n') + '\n';
}

export function formatJsonLines(r: CheckResult, now: Date): string {
  const ts = Math.round(now.getTime()) / 1000;
  const rows: unknown[] = r.anomalies.map((a) => ({ type: 'watch_anomaly', ts, check: r.summary.check, ...a }));
  rows.push({ type: 'watch_check', ts, ...r.summary });
  return rows.map((x) => JSON.stringify(x)).join('\n') + '\n';
}

// ---- the command ----

export const WATCH_HELP = `Usage: mcp-ssh-orchestrator watch [FILE...] [options]
Anomaly detection on the audit stream. The first check learns a baseline (per-host command
rate, target IPs, denial rate, authentication failures, hosts, command hashes); later checks
report deviations with a severity (critical, high, medium, low). Reads stdin when no FILE is
given; files are followed from where the previous check stopped (state in --state DIR).

Options:
  --once               one check over what is new, then exit (the default)
  --interval SECONDS   follow: a check every SECONDS until SIGINT/SIGTERM (or stdin ends)
  --state DIR          baseline and read positions (default $MCP_SSH_WATCH_STATE, else
                       $XDG_STATE_HOME/mcp-ssh-orchestrator/watch or ~/.local/state/...)
  --reset              forget the baseline first (after an intended change); alone, only that
  --thresholds FILE    YAML or JSON thresholds (see docs/security-monitoring.md)
  --key-env NAME       HMAC key of the audit chain (default MCP_SSH_AUDIT_CHAIN_KEY when set)
  --json               anomalies as JSON lines (type watch_anomaly) and one watch_check line per check
  --fail-on SEVERITY   with --once, exit 1 when an anomaly of this severity or worse is found
                       (default high; "none" never)
  --es-url URL         read the ES kit's documents (logs-mcp_ssh.*) from Elasticsearch instead of
                       files; each check reads what was indexed since the previous one
  --index PATTERN      index pattern with --es-url (default logs-mcp_ssh.*)
  --es-api-key ENV     environment variable holding an Elasticsearch API key
  --from TIME          with --es-url, where the first check starts (ISO 8601; default: everything)
  -h, --help           show this help

Exit status: 0 no anomaly at --fail-on or worse (or a clean stop); 1 anomalies; 2 usage, state
             or read error.
`;

function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.MCP_SSH_WATCH_STATE) return env.MCP_SSH_WATCH_STATE;
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'mcp-ssh-orchestrator', 'watch');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolveSleep) => {
    if (signal.aborted) return resolveSleep();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolveSleep();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Buffers stdin lines between checks (follow mode). */
class StdinBuffer {
  private readonly pending: RawLine[] = [];
  ended = false;
  private wake: (() => void) | undefined;
  readonly done: Promise<void>;

  constructor(stdin: Readable) {
    this.done = (async () => {
      try {
        for await (const l of splitLines(stdin, '-')) {
          this.pending.push(l);
        }
      } finally {
        this.ended = true;
        this.wake?.();
      }
    })();
  }
  drain(): RawLine[] {
    return this.pending.splice(0);
  }
  /** Resolves when stdin ends (or at once if it has). */
  whenEnded(): Promise<void> {
    return this.ended ? Promise.resolve() : new Promise((r) => (this.wake = r));
  }
}

/** `mcp-ssh-orchestrator watch [FILE...] [--state DIR] [--once|--interval S] [--reset] [--thresholds FILE] [--json]`. */
export function runWatchCommand(argv: string[], io: CommandIo): Promise<number> {
  return runCommand(io, 'watch', async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        once: { type: 'boolean' },
        interval: { type: 'string' },
        state: { type: 'string' },
        reset: { type: 'boolean' },
        thresholds: { type: 'string' },
        'key-env': { type: 'string' },
        json: { type: 'boolean' },
        'fail-on': { type: 'string', default: 'high' },
        'es-url': { type: 'string' },
        index: { type: 'string' },
        'es-api-key': { type: 'string' },
        from: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      await writeText(io.stdout, WATCH_HELP);
      return 0;
    }
    const env = io.env ?? process.env;
    if (values.once && values.interval !== undefined) throw new UsageError('give --once or --interval, not both');
    let intervalMs: number | undefined;
    if (values.interval !== undefined) {
      const n = Number(values.interval);
      if (!Number.isFinite(n) || n <= 0)
        throw new UsageError(`--interval "${values.interval}": expected a number of seconds > 0`);
      intervalMs = n * 1000;
    }
    const failOn = values['fail-on'] ?? 'high';
    if (failOn !== 'none' && !(SEVERITIES as readonly string[]).includes(failOn)) {
      throw new UsageError(`--fail-on "${failOn}": expected critical, high, medium, low or none`);
    }
    const esUrl = values['es-url'];
    if (esUrl !== undefined) {
      if (positionals.length > 0) throw new UsageError('give either FILE arguments or --es-url, not both');
      try {
        new URL(esUrl);
      } catch {
        throw new UsageError(`--es-url "${esUrl}": expected a URL such as http://127.0.0.1:9200`);
      }
    } else if (values.index !== undefined || values.from !== undefined) {
      throw new UsageError(`${values.index !== undefined ? '--index' : '--from'} needs --es-url`);
    }
    const firstFrom = values.from === undefined ? undefined : parseTime(values.from, '--from');
    const esHeaders: Record<string, string> = {};
    if (values['es-api-key'] !== undefined) {
      const k = env[values['es-api-key']];
      if (!k) throw new UsageError(`--es-api-key ${values['es-api-key']}: the environment variable is not set`);
      esHeaders.authorization = `ApiKey ${k}`;
    }
    const thresholds = await loadThresholds(values.thresholds);
    const key = keyFromEnv(values['key-env'], env);
    const state = new WatchState(values.state ?? defaultStateDir(env));
    await checkReadable(positionals.filter((f) => f !== '-'));
    const unlock = await state.lock();
    try {
      if (values.reset) {
        await state.reset();
        if (positionals.length === 0 && !values.once && intervalMs === undefined) {
          await writeText(io.stdout, `baseline reset in ${state.dir}; the next check learns a new one\n`);
          return 0;
        }
      }
      const files = positionals.filter((f) => f !== '-');
      const useStdin = esUrl === undefined && (positionals.length === 0 || positionals.includes('-'));
      const emit = async (r: CheckResult, now: Date): Promise<void> => {
        const bulletin = formatBulletin(r, now);
        await state.record(r.anomalies, r.summary.check, bulletin, now);
        await writeText(io.stdout, values.json ? formatJsonLines(r, now) : bulletin);
      };
      const runCheck = async (stdinLines: RawLine[] | Readable | undefined): Promise<CheckResult> => {
        const now = new Date();
        const baseline = await state.loadBaseline(now);
        const cursor = await state.loadCursor();
        const check = new WatchCheck(baseline, cursor, thresholds, { key, now, ordered: esUrl === undefined });
        for (const f of files) for await (const p of parseLines(newLinesOf(f, cursor))) check.push(p);
        if (esUrl !== undefined)
          for await (const p of newDocumentsOf(esUrl, values.index, esHeaders, cursor, firstFrom)) check.push(p);
        if (stdinLines !== undefined) {
          const raw = Array.isArray(stdinLines) ? stdinLines : splitLines(stdinLines, '-');
          for await (const p of parseLines(raw)) check.push(p);
        }
        const result = check.finish();
        await state.save(baseline, cursor);
        await emit(result, now);
        return result;
      };

      if (intervalMs === undefined) {
        const r = await runCheck(useStdin ? io.stdin : undefined);
        if (failOn === 'none') return 0;
        const limit = SEVERITIES.indexOf(failOn as Severity);
        return r.anomalies.some((a) => SEVERITIES.indexOf(a.severity) <= limit) ? 1 : 0;
      }

      const controller = new AbortController();
      const signal = io.signal ?? controller.signal;
      const onSignal = (): void => controller.abort();
      if (!io.signal) {
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      }
      const stdin = useStdin ? new StdinBuffer(io.stdin) : undefined;
      try {
        // With files or Elasticsearch the first check runs at once; stdin gets one interval to bring lines.
        let immediate = files.length > 0 || esUrl !== undefined;
        for (;;) {
          if (!immediate) {
            await Promise.race([sleep(intervalMs, signal), ...(stdin && !stdin.ended ? [stdin.whenEnded()] : [])]);
          }
          immediate = false;
          const last = signal.aborted || (stdin !== undefined && stdin.ended && files.length === 0);
          if (stdin?.ended) await stdin.done;
          await runCheck(stdin ? stdin.drain() : undefined);
          if (last) return 0;
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        // Stopped by a signal while stdin is still open: stop reading it so the process can end.
        if (stdin && !stdin.ended) io.stdin.destroy();
      }
    } finally {
      await unlock();
    }
  });
}
