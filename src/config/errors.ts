/**
 * Config errors and their wording. Every problem found while loading becomes a ConfigIssue
 * that names the file, the line and column, the path inside the document and what was
 * expected, so an operator can fix the file without reading the source.
 */
import { z } from 'zod';

/**
 * The description of keys accepted only because the Python docs show them where its server never
 * reads them (config/schema.ts): error messages do not offer them as keys to use.
 */
export const UNREAD_PYTHON_KEY = 'accepted and not read, as in the Python server';

export interface ConfigIssue {
  file: string;
  line?: number;
  column?: number;
  /** Where in the document, e.g. `hosts[2].port`; empty for the file as a whole. */
  path: string;
  /** Says what is expected (and usually what was found). */
  message: string;
}

/** Formats one issue as `servers.yml:7:11 hosts[2].port: expected ..., got ...`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.issues = issues;
  }
}

/** `['hosts', 2, 'port']` → `hosts[2].port`; keys that are not identifiers are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

const MAX_SHOWN_STRING = 60;

/** A short, human description of a value found in a YAML file, for "got ..." clauses. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    if (value.length <= MAX_SHOWN_STRING) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, MAX_SHOWN_STRING))}... (${value.length} characters)`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  if (value instanceof Date) return `a timestamp (${value.toISOString()})`;
  return 'a mapping';
}

type AnySchema = z.core.$ZodType;

function descriptionOf(schema: AnySchema): string | undefined {
  return z.globalRegistry.get(schema)?.description;
}

/** Strips optional/default/nullable wrappers, keeping the first description found on the way. */
function unwrap(schema: AnySchema): { inner: AnySchema; description: string | undefined } {
  let inner = schema;
  let description = descriptionOf(inner);
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault || inner instanceof z.ZodNullable) {
    inner = inner._zod.def.innerType;
    description ??= descriptionOf(inner);
  }
  return { inner, description };
}

interface Bound {
  value: number;
  inclusive: boolean;
}

function numberBounds(schema: AnySchema): { lower?: Bound; upper?: Bound } {
  const bounds: { lower?: Bound; upper?: Bound } = {};
  for (const check of schema._zod.def.checks ?? []) {
    if (check instanceof z.core.$ZodCheckGreaterThan) {
      bounds.lower = { value: Number(check._zod.def.value), inclusive: check._zod.def.inclusive };
    } else if (check instanceof z.core.$ZodCheckLessThan) {
      bounds.upper = { value: Number(check._zod.def.value), inclusive: check._zod.def.inclusive };
    }
  }
  return bounds;
}

function describeNumber(schema: z.ZodNumber): string {
  const kind = schema.isInt ? 'integer' : 'number';
  const { lower, upper } = numberBounds(schema);
  if (lower && upper && lower.inclusive && upper.inclusive)
    return `an ${kind} between ${lower.value} and ${upper.value}`;
  const parts: string[] = [];
  if (lower) {
    if (lower.value === 0) return `a ${lower.inclusive ? 'non-negative' : 'positive'} ${kind}`;
    parts.push(lower.inclusive ? `at least ${lower.value}` : `greater than ${lower.value}`);
  }
  if (upper) parts.push(upper.inclusive ? `at most ${upper.value}` : `less than ${upper.value}`);
  const article = kind === 'integer' ? 'an' : 'a';
  return parts.length === 0 ? `${article} ${kind}` : `${article} ${kind} ${parts.join(' and ')}`;
}

function describeString(schema: z.ZodString): string {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength;
  const base = min >= 1 ? 'a non-empty string' : 'a string';
  if (max !== null) return min > 1 ? `a string of ${min} to ${max} characters` : `${base} of at most ${max} characters`;
  return min > 1 ? `a string of at least ${min} characters` : base;
}

function minItems(schema: AnySchema): number {
  let min = 0;
  for (const check of schema._zod.def.checks ?? []) {
    if (check instanceof z.core.$ZodCheckMinLength) min = Math.max(min, check._zod.def.minimum);
  }
  return min;
}

function describeList(schema: z.ZodArray): string {
  const list = minItems(schema) > 0 ? 'a non-empty list' : 'a list';
  const { inner, description } = unwrap(schema.element);
  if (description !== undefined) return `${list} where each item is ${description}`;
  if (inner instanceof z.ZodString) return `${list} of ${(inner.minLength ?? 0) > 0 ? 'non-empty strings' : 'strings'}`;
  if (inner instanceof z.ZodObject || inner instanceof z.ZodRecord) return `${list} of mappings`;
  return `${list} where each item is ${describeExpected(inner)}`;
}

function showLiteral(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** What a schema accepts, as a noun phrase: "an integer between 1 and 65535", "a list of strings". */
export function describeExpected(schema: AnySchema): string {
  const { inner, description } = unwrap(schema);
  if (description !== undefined) return description;
  if (inner instanceof z.ZodNumber) return describeNumber(inner);
  if (inner instanceof z.ZodString) return describeString(inner);
  if (inner instanceof z.ZodBoolean) return 'true or false';
  if (inner instanceof z.ZodArray) return describeList(inner);
  if (inner instanceof z.ZodObject || inner instanceof z.ZodRecord) return 'a mapping';
  if (inner instanceof z.ZodEnum) return `one of ${inner.options.map(showLiteral).join(', ')}`;
  if (inner instanceof z.ZodLiteral) return [...inner.values].map(showLiteral).join(' or ');
  return `a value of type ${inner._zod.def.type}`;
}

function owningSchema(issue: z.core.$ZodRawIssue): AnySchema | undefined {
  if (issue.schema) return issue.schema;
  return issue.inst instanceof z.core.$ZodType ? issue.inst : undefined;
}

/**
 * Per-parse zod error map. Schema-level messages (refine/regex/literal messages in schema.ts)
 * take precedence over it, so it only words the generic cases, always as "expected ..., got ...".
 * For unknown keys it returns only the accepted keys; `issuesFromZod` adds the key itself.
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  const schema = owningSchema(issue);
  const expected = schema ? describeExpected(schema) : undefined;
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) {
        const key = issue.path?.at(-1);
        const what = typeof key === 'string' ? `required key "${key}" is missing` : 'a required value is missing';
        return expected ? `${what}: expected ${expected}` : what;
      }
      return `expected ${expected ?? issue.expected}, got ${describeValue(issue.input)}`;
    }
    case 'too_big':
    case 'too_small':
    case 'not_multiple_of':
    case 'invalid_format':
      return expected ? `expected ${expected}, got ${describeValue(issue.input)}` : undefined;
    case 'invalid_value': {
      const options = issue.values.map(showLiteral);
      const wanted = options.length === 1 ? options[0] : `one of ${options.join(', ')}`;
      return `expected ${wanted}, got ${describeValue(issue.input)}`;
    }
    case 'unrecognized_keys': {
      const shape = issue.inst instanceof z.ZodObject ? (issue.inst.shape as Record<string, z.ZodType>) : {};
      const known = Object.keys(shape).filter((k) => shape[k]?.description !== UNREAD_PYTHON_KEY);
      return known.length === 0 ? 'no keys are allowed here' : `expected one of: ${known.join(', ')}`;
    }
    default:
      return undefined;
  }
};

export interface Position {
  line: number;
  column: number;
}

/**
 * Finds where a document path is in the source: the value's position, or the key's when
 * `at` is "key"; for a path that does not exist, the position of its deepest existing parent.
 */
export type Locate = (path: readonly PropertyKey[], at?: 'value' | 'key') => Position | undefined;

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let node = data;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

/**
 * Unknown keys that are not typos but deliberate refusals, with what to write instead. The
 * Python server reads a plaintext `password:` from credentials.yml; this one will not keep a
 * password in a file that is usually committed or mounted widely.
 */
const UNKNOWN_KEY_ADVICE: Readonly<Record<string, string>> = {
  password:
    'plaintext passwords are not read from config files: put the password in a secret ' +
    '(a file or a .env key in the secrets directory, or the environment variable <NAME> or MCP_SSH_SECRET_<NAME>) and name it with password_secret',
  key_passphrase:
    'plaintext passphrases are not read from config files: put the passphrase in a secret ' +
    '(a file or a .env key in the secrets directory, or the environment variable <NAME> or MCP_SSH_SECRET_<NAME>) and name it with key_passphrase_secret',
};

/** Turns a zod error from parsing `input` (with `configErrorMap`) into located issues. */
export function issuesFromZod(error: z.ZodError, file: string, input: unknown, locate: Locate): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        issues.push({
          file,
          ...locate(path, 'key'),
          path: formatPath(path),
          message:
            // Own keys only: `toString` or `constructor` must not find Object.prototype's functions.
            Object.hasOwn(UNKNOWN_KEY_ADVICE, key)
              ? `unknown key "${key}": ${UNKNOWN_KEY_ADVICE[key]} (${issue.message})`
              : `unknown key "${key}" (${issue.message})`,
        });
      }
      continue;
    }
    let message = issue.message;
    // Messages written in schema.ts say what is expected but cannot know what was found.
    const found = valueAt(input, issue.path);
    if (message.startsWith('expected ') && !message.includes(', got ') && found !== undefined) {
      message += `, got ${describeValue(found)}`;
    }
    issues.push({ file, ...locate(issue.path), path: formatPath(issue.path), message });
  }
  return issues;
}
