/**
 * Helpers for the monitor tests: run a subcommand (verify, report, watch) in process with
 * real streams, read the captured session logs, and find chained lines to tamper with.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { CommandIo } from '../../src/monitor/cli-util.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/monitor/', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  command: (argv: string[], io: CommandIo) => Promise<number>,
  argv: string[],
  opts: { stdin?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const stdin = Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]);
  const code = await command(argv, {
    stdout,
    stderr,
    stdin,
    env: opts.env ?? {},
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { code, stdout: out, stderr: err };
}

/** The lines of a captured session log (real orchestrator stderr), without the final newline. */
export function fixtureLines(name: string): string[] {
  return readFileSync(join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

/** 0-based indexes of the chained lines (policy_decision, audit, security_event with chain fields). */
export function chainedIndexes(lines: string[]): number[] {
  return lines.flatMap((l, i) => (/"chain_id":"/.test(l) ? [i] : []));
}

export function parsed(line: string): Record<string, unknown> {
  return JSON.parse(line) as Record<string, unknown>;
}

export function tempDir(prefix = 'mcp-monitor-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes lines to a new temp file and returns its path. */
export function writeLog(lines: string[], name = 'audit.log', dir = tempDir()): string {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
  return path;
}
