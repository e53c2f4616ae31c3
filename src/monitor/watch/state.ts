/**
 * The watch state directory: baseline.json (what was learned), cursor.json (where each file,
 * chain and Elasticsearch index was read up to), anomalies.jsonl, bulletin.txt and the lock.
 * Files are validated when read (a damaged one is an error that says to --reset) and written
 * atomically.
 */
import { appendFile, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../cli-util.js';
import { InputError } from '../input.js';
import type { Anomaly } from './types.js';

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
