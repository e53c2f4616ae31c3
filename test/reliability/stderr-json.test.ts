/**
 * stderr is JSON lines under every circumstance: a Node.js process warning and the crash that
 * ends a process go through the event model (src/telemetry/process-guard.ts) instead of
 * printing plain text. Run in a child process on the built modules, as the server runs them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../../dist/telemetry/', import.meta.url));

function run(body: string): { code: number | null; lines: string[] } {
  const script = `
    import { EventEmitter } from 'node:events';
    import { TelemetryBus } from ${JSON.stringify(`${DIST}bus.js`)};
    import { StderrSink } from ${JSON.stringify(`${DIST}stderr-sink.js`)};
    import { installProcessGuard } from ${JSON.stringify(`${DIST}process-guard.js`)};
    const bus = new TelemetryBus([new StderrSink()]);
    installProcessGuard(bus, { exit: (code) => process.exit(code) });
    ${body}
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, lines: r.stderr.split('\n').filter((l) => l !== '') };
}

function parsed(lines: string[]): Record<string, unknown>[] {
  return lines.map((line) => {
    expect(() => JSON.parse(line), `not JSON: ${line}`).not.toThrow();
    return JSON.parse(line) as Record<string, unknown>;
  });
}

describe.skipIf(!existsSync(`${DIST}process-guard.js`))('stderr stays JSON', () => {
  it('a MaxListenersExceededWarning is a process_warning line', () => {
    const { code, lines } = run(`
      const e = new EventEmitter();
      for (let i = 0; i < 12; i++) e.on('drain', () => {});
      process.emitWarning('old API', 'DeprecationWarning', 'DEP0999');
    `);
    expect(code).toBe(0);
    const events = parsed(lines);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'error',
        level: 'warn',
        msg: 'process_warning',
        error: expect.stringContaining('MaxListenersExceededWarning'),
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({ msg: 'process_warning', error: 'DeprecationWarning [DEP0999]: old API' }),
    );
  });

  it('an uncaught exception and an unhandled rejection end the process with one fatal JSON line', () => {
    for (const [body, msg] of [
      ["setTimeout(() => { throw new Error('boom'); }, 1);", 'uncaught_exception'],
      ["Promise.reject(new Error('boom'));", 'unhandled_rejection'],
    ] as const) {
      const { code, lines } = run(body);
      expect(code, msg).toBe(1);
      expect(parsed(lines)).toEqual([
        expect.objectContaining({ type: 'error', level: 'error', msg, error: 'Error: boom' }),
      ]);
    }
  });
});
