/**
 * The Python tools of the stack tests (pySigma + its Elasticsearch backend, ocsf-json-schema +
 * jsonschema), in the venv scripts/engines/python-tools.sh makes in the engines cache. The same
 * contract as engines.ts's requireEngine(): under CI=true a missing venv throws (a CI run must
 * not skip silently); elsewhere one line says what is missing and how to get it, and the caller
 * gets undefined for describe.skipIf.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINES_CACHE } from './engines.js';

const FIX = 'scripts/engines/python-tools.sh  (or: scripts/engines/provision-all.sh python-tools)';
let announced = false;

/** The venv's python, or undefined (after saying why) when it is not provisioned. */
export function requirePythonTools(): string | undefined {
  let reason: string;
  try {
    const marker = JSON.parse(readFileSync(join(ENGINES_CACHE, 'python-tools/.ok'), 'utf8')) as { python?: string };
    if (!marker.python) throw new Error('marker lacks "python"');
    accessSync(marker.python, constants.X_OK);
    return marker.python;
  } catch (e) {
    reason = `no verified venv in ${join(ENGINES_CACHE, 'python-tools')} (${(e as Error).message})`;
  }
  const line = `python-tools is not provisioned: ${reason}; get it with: ${FIX}`;
  if (process.env.CI === 'true') throw new Error(`stack tests: ${line}`);
  if (!announced) {
    announced = true;
    process.stderr.write(`stack tests SKIPPED: ${line}\n`);
  }
  return undefined;
}

/** Runs `python args...`; throws with its stderr unless it exits 0. Returns stdout. */
export function runPython(python: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(python, args, {
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${python} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
