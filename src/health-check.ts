/**
 * `mcp-ssh-orchestrator check`: what a container HEALTHCHECK or an operator runs to know the
 * server would work — the config directory loads (the same validation as at start, known_hosts
 * included) and, when metrics are served, the running process answers on /metrics.
 */
import type { ConfigDirs } from './config/load.js';
import { ConfigError, formatIssue } from './config/errors.js';
import { lintPolicy } from './policy/lint.js';
import { buildSnapshot } from './tasks/snapshot.js';
import type { EventEmitter } from './telemetry/events.js';

export interface CheckResult {
  ok: boolean;
  lines: string[];
}

export async function runHealthCheck(
  dirs: ConfigDirs,
  emitter: EventEmitter,
  metricsUrl?: string,
): Promise<CheckResult> {
  const lines: string[] = [];
  let ok = true;
  try {
    // A one-shot command serves nothing meanwhile: in-line, without the config thread's start-up.
    const snap = await buildSnapshot(dirs, emitter, 0, { offThread: false });
    lines.push(
      `config ok: ${snap.config.hosts.length} hosts, ${snap.config.credentials.size} credentials, ${snap.config.policy.rules.length} rules (${dirs.configDir})`,
    );
    lines.push(...snap.config.warnings.map((w) => `config warning: ${formatIssue(w)}`));
    // Warnings, not errors: the policy works, but may admit less (or check less) than it reads.
    lines.push(...lintPolicy(snap.config.policy).map((w) => `policy warning: ${w}`));
  } catch (err) {
    ok = false;
    lines.push(
      `config invalid (${dirs.configDir}):`,
      ...(err instanceof ConfigError ? err.message.split('\n') : [String(err)]),
    );
  }
  if (metricsUrl !== undefined) {
    try {
      const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(3000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      lines.push(`metrics ok: ${metricsUrl}`);
    } catch (err) {
      ok = false;
      lines.push(`metrics unreachable at ${metricsUrl}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { ok, lines };
}
