/**
 * Thresholds of `mcp-ssh-orchestrator watch`, from a YAML or JSON file validated with zod.
 * Every key is optional (the defaults below apply); unknown keys are errors, and every error
 * names the file, the line and the field, worded like the config loader's.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { configErrorMap, formatIssue, issuesFromZod, type Locate } from '../config/errors.js';
import { SECURITY_EVENT_TYPES } from '../telemetry/events.js';
import { UsageError } from './cli-util.js';

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

const severity = z
  .enum([...SEVERITIES, 'off'])
  .describe('one of "critical", "high", "medium", "low" or "off" (not reported)');
const count = z.number().int().min(1).describe('a whole number of at least 1');
const factor = z.number().min(1).describe('a number of at least 1 (how many times the baseline)');
const ratio = z.number().min(0).max(1).describe('a ratio between 0 and 1');
const seconds = z.number().min(0).describe('a number of seconds (0 or more)');

const rule = <T extends z.ZodRawShape>(shape: T, defaultSeverity: Severity) =>
  z
    .object({ severity: severity.default(defaultSeverity), ...shape })
    .strict()
    // Inner defaults apply when the whole section is left out.
    .prefault({} as never);

const securityDefaults: Record<(typeof SECURITY_EVENT_TYPES)[number], Severity> = {
  host_key_mismatch: 'critical',
  command_bypass_attempt: 'high',
  path_traversal_attempt: 'high',
  authentication_failed: 'low',
  dns_rate_limit_exceeded: 'medium',
  file_validation_failed: 'medium',
  file_size_limit_exceeded: 'medium',
  input_length_limit_exceeded: 'medium',
  invalid_secret_name: 'medium',
};

export const thresholdsSchema = z
  .object({
    command_rate: rule(
      {
        max_per_minute: count.default(100).describe('commands on one host in one minute that are always too many'),
        min_per_minute: count.default(10),
        spike_factor: factor.default(3),
      },
      'high',
    ),
    denials: rule(
      { min_count: count.default(5), min_ratio: ratio.default(0.25), spike_factor: factor.default(3) },
      'high',
    ),
    auth_failures: rule({ min_count: count.default(3), spike_factor: factor.default(3) }, 'high'),
    new_host: rule({}, 'medium'),
    new_target_ip: rule({}, 'high'),
    new_command: rule({ max_listed: count.default(10) }, 'low'),
    chain: rule({}, 'critical'),
    bad_input: rule({ min_count: count.default(1) }, 'low'),
    clock_skew: rule({ tolerance_seconds: seconds.default(1), future_seconds: seconds.default(300) }, 'low'),
    security_events: z
      .object(
        Object.fromEntries(SECURITY_EVENT_TYPES.map((t) => [t, severity.default(securityDefaults[t])])) as Record<
          (typeof SECURITY_EVENT_TYPES)[number],
          z.ZodDefault<typeof severity>
        >,
      )
      .strict()
      .prefault({}),
    baseline: z
      .object({
        max_hashes_per_host: count.default(5000),
        max_ips_per_host: count.default(256),
        /** Checks that only learn before deviations are reported. */
        learning_checks: count.default(1),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Thresholds = z.infer<typeof thresholdsSchema>;

export const DEFAULT_THRESHOLDS: Thresholds = thresholdsSchema.parse({});

function locator(text: string): Locate {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  return (path) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
      if (node?.range) {
        const p = lines.linePos(node.range[0]);
        return { line: p.line, column: p.col };
      }
    }
    return undefined;
  };
}

/** Parses thresholds from text (YAML, of which JSON is a subset); errors name file, line and field. */
export function parseThresholds(text: string, file: string): Thresholds {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e?.linePos?.[0];
    throw new UsageError(
      `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML or JSON: ${e?.message.split('\n')[0] ?? ''}`,
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const result = thresholdsSchema.safeParse(raw, { error: configErrorMap });
  if (result.success) return result.data;
  const issues = issuesFromZod(result.error, file, raw, locator(text));
  throw new UsageError(`invalid thresholds:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
}

export async function loadThresholds(file: string | undefined): Promise<Thresholds> {
  if (file === undefined) return DEFAULT_THRESHOLDS;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--thresholds ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  return parseThresholds(text, file);
}
