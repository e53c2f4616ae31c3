/**
 * The command path: policy decision → task → network check → pooled SSH connection →
 * exec with limits → audit. Every step reports through the event emitter in the order of
 * the stderr contract: policy_decision, progress connecting/connected/running…, audit, trace.
 */
import type { EffectiveLimits, HostConfig } from '../config/schema.js';
import { MissingFileError, readKeyFile, readSecret } from '../config/safe-paths.js';
import type { PolicyDecision } from '../policy/engine.js';
import { SshConnection, type AuthMaterial } from '../ssh/connection.js';
import { SshError } from '../ssh/errors.js';
import { execCommand, type ExecResult } from '../ssh/exec.js';
import type { ConnectionPool } from '../ssh/pool.js';
import { commandHash } from '../telemetry/command-hash.js';
import type { EventEmitter, ProgressPhase } from '../telemetry/events.js';
import { redactSecrets, redactWords } from '../telemetry/redact.js';
import {
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_PROCESS_EXIT_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from '../telemetry/semconv.js';
import { inSpan, markError } from '../telemetry/spans.js';
import { addressVerdicts, planCommand } from './plan.js';
import type { Task, TaskRegistry, TaskResult } from './registry.js';
import type { RuntimeSnapshot } from './snapshot.js';

/** The seed contract's cadence for `running` progress lines. */
export const PROGRESS_INTERVAL_MS = 500;
const CONNECT_TIMEOUT_MS = 15_000;

export interface ProgressUpdate {
  task_id: string;
  phase: ProgressPhase;
  bytes_read: number;
  elapsed_ms: number;
}

export interface RunRequest {
  alias: string;
  command: string;
  async: boolean;
  /** Called at each progress step (the MCP layer turns these into progress notifications). */
  onProgress?: (update: ProgressUpdate) => void;
  /** Cancels the task when aborted (the MCP request's own signal, for example). */
  signal?: AbortSignal;
}

export type Admission =
  | { allowed: false; alias: string; hash: string; decision: PolicyDecision }
  | {
      allowed: true;
      alias: string;
      hash: string;
      decision: PolicyDecision;
      task: Task;
      limits: EffectiveLimits;
      done: Promise<TaskResult>;
    };

export class UnknownAliasError extends Error {
  constructor(alias: string, known: string[]) {
    super(`unknown host alias "${alias}"; known aliases: ${known.join(', ') || '(none)'} — ssh_list_hosts lists them`);
    this.name = 'UnknownAliasError';
  }
}

export interface ExecutorDeps {
  emitter: EventEmitter;
  pool: ConnectionPool;
  tasks: TaskRegistry;
  snapshot: () => RuntimeSnapshot;
}

export class CommandExecutor {
  constructor(private readonly deps: ExecutorDeps) {}

  /** Decides and, when allowed, starts the command. Throws UnknownAliasError for a bad alias. */
  start(req: RunRequest): Promise<Admission> {
    const snap = this.deps.snapshot();
    const host = snap.config.hostsByAlias.get(req.alias);
    if (!host) throw new UnknownAliasError(req.alias, [...snap.config.hostsByAlias.keys()]);
    return this.admit(snap, host, req);
  }

  /** Like start, for a host already picked from the snapshot (tag fan-out). */
  async admit(snap: RuntimeSnapshot, host: HostConfig, req: RunRequest): Promise<Admission> {
    const { emitter, tasks } = this.deps;
    const hash = commandHash(req.command);
    const { decision, limits } = await planCommand(snap, host, req.command);
    if (decision.bypass) {
      emitter.emit({
        type: 'security_event',
        event_type: 'command_bypass_attempt',
        original_command: redactSecrets(decision.bypass.original_command),
        // The parsed form is redacted word by word: a quoted secret with spaces stays one word.
        normalized_command: decision.bypass.words
          ? redactWords(decision.bypass.words).join(' ')
          : redactSecrets(decision.bypass.normalized_command),
        blocked_pattern: decision.bypass.blocked_pattern,
        reason: redactSecrets(decision.reason),
        alias: host.alias,
      });
    }
    if (!decision.allowed) {
      emitter.emit({ type: 'policy_decision', alias: host.alias, hash, allowed: false, rule: decision.rule });
      return { allowed: false, alias: host.alias, hash, decision };
    }
    const task = tasks.create(host.alias, req.command, hash, req.async, limits);
    // What goes over SSH is the print of the checked tree; the trail says when it differs.
    const sent = decision.sent ?? req.command;
    emitter.emit({
      type: 'policy_decision',
      alias: host.alias,
      hash,
      allowed: true,
      rule: decision.rule,
      task_id: task.id,
      ...(sent !== req.command ? { sent_hash: commandHash(sent) } : {}),
      ...(decision.unchecked ? { unchecked: true } : {}),
    });
    if (req.signal) {
      if (req.signal.aborted) task.abort.abort(req.signal.reason);
      else req.signal.addEventListener('abort', () => task.abort.abort(req.signal?.reason), { once: true });
    }
    const done = this.run(snap, host, task, sent, limits, req.onProgress);
    return { allowed: true, alias: host.alias, hash, decision, task, limits, done };
  }

  /**
   * One task under an `ssh_task` span with `connect`, `run` and `done` children; every event
   * is emitted inside the span it belongs to, so its trace and span ids match.
   */
  private run(
    snap: RuntimeSnapshot,
    host: HostConfig,
    task: Task,
    sent: string,
    limits: EffectiveLimits,
    onProgress?: (u: ProgressUpdate) => void,
  ): Promise<TaskResult> {
    const attributes = {
      'mcp_ssh.alias': host.alias,
      'mcp_ssh.task_id': task.id,
      'mcp_ssh.command.hash': task.hash,
      [ATTR_SERVER_ADDRESS]: host.host,
      [ATTR_SERVER_PORT]: host.port,
    };
    return inSpan('ssh_task', attributes, async (taskSpan) => {
      const progress = (phase: ProgressPhase): void => {
        task.phase = phase;
        const update: ProgressUpdate = {
          task_id: task.id,
          phase,
          bytes_read: task.bytesRead,
          elapsed_ms: task.elapsedMs,
        };
        // alias is additive: with it, every line of a task answers `select(.alias == "web1")`.
        this.deps.emitter.emit({ type: 'progress', ...update, alias: host.alias });
        onProgress?.(update);
      };
      const { exec, failure, targetIp } = await this.execute(snap, host, task, sent, limits, progress);
      const result = this.resultOf(host, task, exec, failure, targetIp);
      if (result.error) markError(taskSpan, failure);
      taskSpan.setAttribute(ATTR_PROCESS_EXIT_CODE, result.exit_code);
      if (targetIp) taskSpan.setAttribute(ATTR_NETWORK_PEER_ADDRESS, targetIp);
      return inSpan('done', {}, async () => {
        this.finish(host, task, result, exec, failure);
        return result;
      });
    });
  }

  /** connect (resolve, network check, pooled connection) then run; failures are returned, not thrown. */
  private async execute(
    snap: RuntimeSnapshot,
    host: HostConfig,
    task: Task,
    /** The print of the checked command: what goes over SSH. */
    sent: string,
    limits: EffectiveLimits,
    progress: (phase: ProgressPhase) => void,
  ): Promise<{ exec?: ExecResult; failure?: unknown; targetIp: string | null }> {
    let targetIp: string | null = null;
    try {
      // A pooled connection that died while idle is only noticed when a channel is refused;
      // nothing ran then, so one retry on a fresh connection is safe.
      for (let attempt = 1; ; attempt++) {
        const lease = await inSpan('connect', { 'mcp_ssh.attempt': attempt }, async (span) => {
          progress('connecting');
          const address = await this.pickAddress(snap, host);
          targetIp = address;
          span.setAttribute(ATTR_NETWORK_PEER_ADDRESS, address);
          const key = `${snap.generation}|${host.alias}|${address}|${host.port}`;
          const acquired = await this.deps.pool.acquire(
            key,
            () => this.connect(snap, host, address, task.abort.signal),
            task.abort.signal,
          );
          progress('connected');
          return acquired;
        });
        try {
          const exec = await inSpan('run', {}, async () => {
            const ticker = setInterval(() => progress('running'), PROGRESS_INTERVAL_MS);
            try {
              return await execCommand(lease.connection, sent, {
                maxOutputBytes: limits.max_output_bytes,
                timeoutMs: limits.max_seconds * 1000,
                signal: task.abort.signal,
                onData: (stream, chunk) => task.appendOutput(stream, chunk),
              });
            } finally {
              clearInterval(ticker);
            }
          });
          return { exec, targetIp };
        } catch (err) {
          if (attempt === 1 && err instanceof SshError && err.kind === 'connection_stale') continue;
          throw err;
        } finally {
          lease.release();
        }
      }
    } catch (failure) {
      return { failure, targetIp };
    }
  }

  private resultOf(
    host: HostConfig,
    task: Task,
    exec: ExecResult | undefined,
    failure: unknown,
    targetIp: string | null,
  ): TaskResult {
    const cancelled = exec?.cancelled ?? task.abort.signal.aborted;
    const result: TaskResult = {
      task_id: task.id,
      alias: host.alias,
      hash: task.hash,
      exit_code: exec?.exitCode ?? -1,
      bytes_out: exec?.bytesOut ?? 0,
      bytes_err: exec?.bytesErr ?? 0,
      truncated: exec?.truncated ?? false,
      duration_ms: task.elapsedMs,
      cancelled,
      timeout: exec?.timedOut ?? false,
      target_ip: targetIp,
    };
    if (failure !== undefined && !cancelled)
      result.error = failure instanceof Error ? failure.message : String(failure);
    if (exec && !exec.remoteStopped) result.remote_stopped = false;
    return result;
  }

  /** The end of every task, whatever happened: failure reports, the audit line, the trace line. */
  private finish(
    host: HostConfig,
    task: Task,
    result: TaskResult,
    exec: ExecResult | undefined,
    failure: unknown,
  ): void {
    const { emitter } = this.deps;
    if (result.error !== undefined) this.reportFailure(host, task, failure);
    if (exec && !exec.remoteStopped) {
      emitter.emit({
        type: 'error',
        level: 'warn',
        msg: 'remote_process_not_confirmed_stopped',
        error: `${host.alias}: sshd did not confirm the end of the process after the kill signal; it may still be running (OpenSSH ignores signals for root logins)`,
        task_id: task.id,
        alias: host.alias,
      });
    }
    emitter.emit({
      type: 'audit',
      alias: host.alias,
      hash: task.hash,
      exit_code: result.exit_code,
      duration_ms: result.duration_ms,
      bytes_out: result.bytes_out,
      bytes_err: result.bytes_err,
      cancelled: result.cancelled,
      timeout: result.timeout,
      target_ip: result.target_ip,
      host: host.host,
      port: host.port,
      task_id: task.id,
    });
    task.finish(result, exec ? { stdout: exec.stdout, stderr: exec.stderr } : undefined);
    emitter.emit({ type: 'trace', op: 'run_done', elapsed_ms: task.elapsedMs, task_id: task.id, alias: host.alias });
  }

  /** Resolves the host and returns the first address the network policy allows. */
  private async pickAddress(snap: RuntimeSnapshot, host: HostConfig): Promise<string> {
    const verdicts = await addressVerdicts(snap, host);
    const allowed = verdicts.find((v) => v.allowed);
    if (allowed) return allowed.ip;
    const refusals = verdicts.map((v) => `${v.ip}: ${v.reason}`);
    throw new SshError(
      'network_blocked',
      `no address of ${host.host} is allowed by the network policy (${refusals.join('; ')}); adjust network.allow_*/block_* in policy.yml`,
    );
  }

  private async connect(
    snap: RuntimeSnapshot,
    host: HostConfig,
    address: string,
    signal: AbortSignal,
  ): Promise<SshConnection> {
    const auth = await this.authFor(snap, host);
    return SshConnection.open({
      address,
      port: host.port,
      hostForKeys: host.host,
      auth,
      knownHosts: snap.knownHosts,
      checkPeer: (peer) => {
        const verdict = snap.network.check(peer);
        return verdict.allowed ? undefined : verdict.reason;
      },
      readyTimeoutMs: CONNECT_TIMEOUT_MS,
      signal,
    });
  }

  private async authFor(snap: RuntimeSnapshot, host: HostConfig): Promise<AuthMaterial> {
    const { emitter } = this.deps;
    const dirs = snap.config.dirs;
    if (!host.credentials) {
      throw new Error(`host "${host.alias}" has no credentials: set credentials: <name> in servers.yml`);
    }
    const cred = snap.config.credentials.get(host.credentials);
    if (!cred) throw new Error(`credentials "${host.credentials}" for host "${host.alias}" are not in credentials.yml`);
    // Key files and secrets are read now, at each connection: one missing at start was only a
    // config warning, so the error names the host, the credentials and the field.
    const read = async <T>(field: string, load: () => Promise<T>): Promise<T> => {
      try {
        return await load();
      } catch (err) {
        if (!(err instanceof MissingFileError)) throw err;
        throw new MissingFileError(
          `cannot connect to host "${host.alias}": ${field} of credentials "${cred.name}" (credentials.yml): ${err.message}`,
          err.filePath,
        );
      }
    };
    const auth: AuthMaterial = { username: cred.username };
    const { key_path: keyPath, key_passphrase_secret: passphrase, password_secret: password } = cred;
    if (keyPath) auth.privateKey = await read('key_path', () => readKeyFile(keyPath, dirs, emitter));
    if (passphrase) auth.passphrase = await read('key_passphrase_secret', () => readSecret(passphrase, dirs, emitter));
    if (password) auth.password = await read('password_secret', () => readSecret(password, dirs, emitter));
    if (cred.use_agent) {
      const sock = process.env.SSH_AUTH_SOCK;
      if (!sock) throw new Error(`credentials "${cred.name}" use the ssh-agent but SSH_AUTH_SOCK is not set`);
      auth.agent = sock;
    }
    return auth;
  }

  private reportFailure(host: HostConfig, task: Task, err: unknown): void {
    const { emitter } = this.deps;
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof SshError && err.kind === 'authentication_failed') {
      emitter.emit({
        type: 'security_event',
        event_type: 'authentication_failed',
        alias: host.alias,
        hostname: host.host,
        reason: message,
        task_id: task.id,
      });
    } else if (err instanceof SshError && err.kind.startsWith('host_key_')) {
      emitter.emit({
        type: 'security_event',
        event_type: 'host_key_mismatch',
        alias: host.alias,
        hostname: host.host,
        reason: err.kind,
        task_id: task.id,
      });
    }
    const blocked = err instanceof SshError && err.kind === 'network_blocked';
    emitter.emit({
      type: 'error',
      level: blocked ? 'warn' : 'error',
      msg: blocked ? 'network_blocked' : 'run_exception',
      error: message,
      task_id: task.id,
      alias: host.alias,
    });
  }
}
