/**
 * What the monitor subcommands (verify, report, watch) share as command line programs: their
 * streams, errors that become exit status 2 with one readable line, and the HMAC key lookup.
 * They write to the streams they are given, never to process.stdout directly.
 */
import type { Readable, Writable } from 'node:stream';
import { InputError } from './input.js';

export interface CommandIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  /** Environment for --key-env and defaults (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Stops a long-running command (watch --interval); SIGINT/SIGTERM when not given. */
  signal?: AbortSignal;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Writes text and waits until the stream took it (so an exit right after loses nothing). */
export function writeText(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.write(text)) stream.once('drain', resolve);
    else resolve();
  });
}

function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/** Runs a command body; what it throws becomes exit status 2 with one line on stderr. */
export async function runCommand(io: CommandIo, name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    const known = err instanceof UsageError || err instanceof InputError || isParseArgsError(err);
    const msg = err instanceof Error ? err.message : String(err);
    await writeText(io.stderr, `mcp-ssh-orchestrator ${name}: ${known ? '' : 'error: '}${msg}\n`);
    return 2;
  }
}

/** The chain's HMAC key: from --key-env NAME, else MCP_SSH_AUDIT_CHAIN_KEY when it is set. */
export function keyFromEnv(name: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (name !== undefined) {
    const v = env[name];
    if (v === undefined || v === '') throw new UsageError(`--key-env ${name}: the environment variable is not set`);
    return v;
  }
  const v = env.MCP_SSH_AUDIT_CHAIN_KEY;
  return v === undefined || v === '' ? undefined : v;
}
