/**
 * One watch check: the new lines pushed in, then finish() compares them with the baseline and
 * returns the anomalies (chain breaks, security events, rates and spikes, new hosts, target IPs
 * and commands, bad input, clock skew), updating baseline and cursor in memory.
 */
import { chainDigest, genesisDigest } from '../../telemetry/audit-chain.js';
import { checkEvent, isoOf } from '../events.js';
import {
  countLine,
  emptyStats,
  formatRef,
  unknownTypeCount,
  type InputStats,
  type LineRef,
  type ParsedLine,
} from '../input.js';
import { SEVERITIES, type Severity, type Thresholds } from '../thresholds.js';
import { CHAINED_LINE_TYPES } from '../verify.js';
import type { Baseline, Cursor } from './state.js';
import type { Anomaly, CheckResult, CheckSummary } from './types.js';

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
