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
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { keyFromEnv, runCommand, UsageError, writeText, type CommandIo } from './cli-util.js';
import { parseTime } from './events.js';
import { checkReadable, parseLines, splitLines, type RawLine } from './input.js';
import { loadThresholds, SEVERITIES, type Severity } from './thresholds.js';
import { formatBulletin, formatJsonLines } from './watch/bulletin.js';
import { WatchCheck } from './watch/check.js';
import { WatchState } from './watch/state.js';
import { newDocumentsOf, newLinesOf } from './watch/tail.js';
import type { CheckResult } from './watch/types.js';

// The parts, one module each (src/monitor/watch/): types.ts (anomalies, check summary),
// state.ts (the state directory), check.ts (the anomaly check), tail.ts (reading what is new),
// bulletin.ts (output). This module is the command.
export type { Anomaly, AnomalyKind, CheckResult, CheckSummary } from './watch/types.js';
export { newBaseline, newCursor, WatchState, type Baseline, type Cursor, type HostBaseline } from './watch/state.js';
export { WatchCheck } from './watch/check.js';
export { newLinesOf, newDocumentsOf } from './watch/tail.js';
export { formatBulletin, formatJsonLines } from './watch/bulletin.js';

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
