/**
 * Captures the stderr of real orchestrator sessions (test/helpers/audit-session.ts, with
 * --audit-chain, against a real sshd) into test/fixtures/monitor/, the input of the monitor
 * unit tests. Run after `npm run build`: `npx tsx scripts/capture-monitor-fixtures.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAuditSession } from '../test/helpers/audit-session.js';

const dir = fileURLToPath(new URL('../test/fixtures/monitor/', import.meta.url));
mkdirSync(dir, { recursive: true });

for (const [name, key] of [
  ['session-sha256.jsonl', undefined],
  // A second run: another chain, for concatenated and interleaved logs.
  ['session-sha256-b.jsonl', undefined],
  ['session-hmac.jsonl', 'fixture-hmac-key'],
] as const) {
  const run = await runAuditSession({ key });
  await run.stop();
  // Everything the server wrote, shutdown included.
  const text = run.session.rawStderr();
  writeFileSync(join(dir, name), text);
  process.stderr.write(`wrote ${join(dir, name)} (${text.split('\n').length - 1} lines)\n`);
}
