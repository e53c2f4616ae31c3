/**
 * Guarded access to files named by configuration: the three YAML files, SSH key files and
 * secrets. Every refusal is reported as a security event before it is thrown, because a
 * refused path is either a typo or someone probing for files outside the allowed directories.
 *
 * Symlink rule: a symlink is followed only if its real path stays inside the base directory.
 * Kubernetes mounts ConfigMaps and Secrets as `file -> ..data/file -> ..<timestamp>/file`,
 * all inside the mount, so those work; a symlink leading anywhere else is refused
 * (`file_validation_failed`, reason `path_is_symlink`). The same rule applies to the YAML
 * files, key files, secret files and the secrets directory's `.env`.
 *
 * key_path rule: relative paths are resolved against the keys directory; absolute paths are
 * accepted only if they are inside it (configs written for the Python server often spell
 * out `/app/keys/id_ed25519`). Any `..` segment is refused even if it would stay inside:
 * no legitimate config needs one.
 */
import { constants } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import type { EventEmitter, SecurityEventInput } from '../telemetry/events.js';
import { securityEventOf } from '../telemetry/events.js';

export const MAX_FILE_SIZE = 10 * 1024 * 1024;
export const MAX_SECRET_NAME_LENGTH = 100;
export const MAX_KEY_PATH_LENGTH = 1024;
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

/** A path or name refused for safety; the matching security event has already been emitted. */
export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
}

/** The file does not exist (not a security event: usually a deployment mistake). */
export class MissingFileError extends Error {
  override readonly name = 'MissingFileError';
  constructor(
    message: string,
    readonly filePath: string,
  ) {
    super(message);
  }
}

function refuse(emitter: EventEmitter, event: SecurityEventInput, message: string): never {
  emitter.emit(securityEventOf(event));
  throw new UnsafePathError(message);
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function isNotFound(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Where a file lives and how to name it in messages and events. */
export interface FileRef {
  /** Absolute path to check (before following symlinks). */
  filePath: string;
  /** The directory the file must stay inside. */
  baseDir: string;
  /** What the configuration said, reported as `attempted_path`. */
  attempted: string;
  /** How messages name the file, e.g. `key_path "id_ed25519"`. */
  label: string;
  /** Message for a file that does not exist. */
  missingMessage: string;
}

export interface CheckedFile {
  realPath: string;
  size: number;
}

function fileKind(stats: {
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Checks that `ref` is a regular file inside its base directory (following only symlinks
 * that stay inside) and at most `maxSize` bytes. Throws UnsafePathError or MissingFileError.
 */
export async function checkRegularFile(
  ref: FileRef,
  emitter: EventEmitter,
  maxSize = MAX_FILE_SIZE,
): Promise<CheckedFile> {
  const { filePath, baseDir, attempted, label } = ref;
  let linkStats;
  let realPath: string;
  let realBase: string;
  try {
    linkStats = await lstat(filePath);
    realPath = await realpath(filePath);
    realBase = await realpath(baseDir);
  } catch (error) {
    if (isNotFound(error)) throw new MissingFileError(ref.missingMessage, filePath);
    throw error;
  }
  const where = { attempted_path: attempted, resolved_path: realPath };
  if (!isInside(realPath, realBase)) {
    if (linkStats.isSymbolicLink()) {
      refuse(
        emitter,
        { event_type: 'file_validation_failed', ...where, reason: 'path_is_symlink' },
        `${label} is a symlink to ${realPath}, outside ${baseDir}: symlinks must point inside that directory`,
      );
    }
    // Not a symlink itself, so a parent directory is one that leads elsewhere.
    refuse(
      emitter,
      { event_type: 'path_traversal_attempt', ...where, reason: 'path_outside_allowed_directory', base_dir: baseDir },
      `${label} resolves to ${realPath}, outside ${baseDir}: expected a file inside that directory`,
    );
  }
  const stats = await lstat(realPath);
  if (stats.isDirectory()) {
    refuse(
      emitter,
      { event_type: 'file_validation_failed', ...where, reason: 'path_is_directory' },
      `${label} is a directory: expected a regular file`,
    );
  }
  if (!stats.isFile()) {
    refuse(
      emitter,
      { event_type: 'file_validation_failed', ...where, reason: 'path_not_regular_file' },
      `${label} is ${fileKind(stats)}: expected a regular file`,
    );
  }
  if (stats.size > maxSize) {
    refuse(
      emitter,
      { event_type: 'file_size_limit_exceeded', ...where, file_size: stats.size, max_size: maxSize },
      `${label} is ${stats.size} bytes: expected at most ${maxSize} bytes`,
    );
  }
  return { realPath, size: stats.size };
}

/** checkRegularFile, then reads the checked file without following a symlink swapped in since. */
export async function readRegularFile(ref: FileRef, emitter: EventEmitter, maxSize = MAX_FILE_SIZE): Promise<Buffer> {
  const { realPath } = await checkRegularFile(ref, emitter, maxSize);
  let handle;
  try {
    handle = await open(realPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if (isNotFound(error)) throw new MissingFileError(ref.missingMessage, ref.filePath);
    if (errnoCode(error) === 'ELOOP') {
      refuse(
        emitter,
        {
          event_type: 'file_validation_failed',
          attempted_path: ref.attempted,
          resolved_path: realPath,
          reason: 'path_is_symlink',
        },
        `${ref.label} was replaced by a symlink while being read`,
      );
    }
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size > maxSize) {
      refuse(
        emitter,
        {
          event_type: 'file_validation_failed',
          attempted_path: ref.attempted,
          resolved_path: realPath,
          reason: 'path_not_regular_file',
        },
        `${ref.label} changed while being read: expected a regular file of at most ${maxSize} bytes`,
      );
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

// ---- secrets ----

/**
 * Checks a secret name (it becomes a file name under the secrets directory). Emits
 * `input_length_limit_exceeded` / `invalid_secret_name`, plus `path_traversal_attempt` when
 * the name is shaped like a path escape, and throws UnsafePathError.
 */
export function validateSecretName(name: string, dirs: { secretsDir: string }, emitter: EventEmitter): void {
  if (name.length > MAX_SECRET_NAME_LENGTH) {
    refuse(
      emitter,
      {
        event_type: 'input_length_limit_exceeded',
        attempted_path: name,
        field: 'secret_name',
        length: name.length,
        max_length: MAX_SECRET_NAME_LENGTH,
      },
      `secret name is ${name.length} characters long: expected at most ${MAX_SECRET_NAME_LENGTH}`,
    );
  }
  if (SECRET_NAME_PATTERN.test(name)) return;
  const resolved = path.resolve(dirs.secretsDir, name);
  const traversal = path.isAbsolute(name)
    ? 'absolute_path_rejected'
    : hasDotDotSegment(name)
      ? 'contains_traversal_pattern'
      : undefined;
  if (traversal) {
    emitter.emit(
      securityEventOf({
        event_type: 'path_traversal_attempt',
        attempted_path: name,
        resolved_path: resolved,
        reason: traversal,
        base_dir: dirs.secretsDir,
      }),
    );
  }
  refuse(
    emitter,
    { event_type: 'invalid_secret_name', attempted_path: name, reason: 'contains_invalid_characters' },
    `secret name ${JSON.stringify(name)} is invalid: expected only letters, digits, "_" and "-" (it names a file in ${dirs.secretsDir})`,
  );
}

/** `db-pass` → `MCP_SSH_SECRET_DB_PASS`. */
export function secretEnvVar(name: string): string {
  return `MCP_SSH_SECRET_${name.toUpperCase().replace(/-/g, '_')}`;
}

/** The dotenv file in the secrets directory that holds secrets as `NAME=value` lines. */
export const SECRETS_DOTENV_FILE = '.env';

/** `db-pass` → `db-pass`, `DB-PASS`: the name as written, then upper-cased (once if they are equal). */
export function bareSecretNames(name: string): string[] {
  return [...new Set([name, name.toUpperCase()])];
}

/**
 * The value of `name` in `<secretsDir>/.env`, parsed with dotenv's parser (comments, quotes,
 * `export` prefixes, multi-line quoted values); the file gets the same checks as a secret file
 * (regular file, symlinks only inside the secrets directory, MAX_FILE_SIZE). `missing` says
 * why nothing was found, for the not-found message.
 */
async function readDotenvSecret(
  name: string,
  dirs: { secretsDir: string },
  emitter: EventEmitter,
): Promise<{ value: string } | { missing: string }> {
  const filePath = path.join(dirs.secretsDir, SECRETS_DOTENV_FILE);
  let content: Buffer;
  try {
    content = await readRegularFile(
      {
        filePath,
        baseDir: dirs.secretsDir,
        attempted: SECRETS_DOTENV_FILE,
        label: `secrets file ${filePath}`,
        missingMessage: `${filePath} not found`,
      },
      emitter,
    );
  } catch (error) {
    if (error instanceof MissingFileError) return { missing: 'no such file' };
    throw error;
  }
  // parse only: it returns a fresh object and never touches process.env.
  const entries = parseDotenv(content);
  for (const key of bareSecretNames(name)) {
    if (Object.hasOwn(entries, key)) return { value: entries[key] ?? '' };
  }
  return { missing: 'no such key' };
}

/**
 * A secret's value, looked up in the order of the Python server:
 *
 * 1. the environment variable named exactly as the secret, then its upper-cased name
 *    (`db-pass`, then `DB-PASS`; the Docker MCP Gateway passes secrets this way). An empty
 *    value counts as unset here, because this name is shared with every other variable of
 *    the environment;
 * 2. `MCP_SSH_SECRET_<NAME>` (upper-cased, `-` becomes `_`);
 * 3. the key `name` (then its upper-cased name) in the dotenv file `<secretsDir>/.env`;
 * 4. the file `<secretsDir>/<name>`, without its final newline (files written by `echo` or
 *    editors end with one).
 *
 * The name is validated first (it becomes a file name). A file found unsafe (a symlink leading
 * outside, a directory, too large) is refused with a security event, not skipped; a name found
 * nowhere throws MissingFileError listing every place looked in.
 */
export async function readSecret(
  name: string,
  dirs: { secretsDir: string },
  emitter: EventEmitter,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  validateSecretName(name, dirs, emitter);
  // Own string properties only: process.env inherits toString and friends, and a secret may be named so.
  const fromEnv = (key: string): string | undefined => {
    const value: unknown = Object.hasOwn(env, key) ? env[key] : undefined;
    return typeof value === 'string' ? value : undefined;
  };
  for (const bare of bareSecretNames(name)) {
    const value = fromEnv(bare);
    if (value !== undefined && value !== '') return value;
  }
  const prefixed = fromEnv(secretEnvVar(name));
  if (prefixed !== undefined) return prefixed;
  const fromDotenv = await readDotenvSecret(name, dirs, emitter);
  if ('value' in fromDotenv) return fromDotenv.value;
  const filePath = path.join(dirs.secretsDir, name);
  const dotenvPath = path.join(dirs.secretsDir, SECRETS_DOTENV_FILE);
  const bare = bareSecretNames(name);
  const missingMessage =
    `secret ${JSON.stringify(name)} not found; looked in, in order: the environment variables ` +
    `${[...bare, secretEnvVar(name)].join(', ')} (none set), the key ${bare.join(' or ')} in ${dotenvPath} ` +
    `(${fromDotenv.missing}), the file ${filePath} (no such file). ` +
    `Set ${secretEnvVar(name)}, add ${name}=<value> to ${dotenvPath}, or create ${filePath}`;
  const content = await readRegularFile(
    { filePath, baseDir: dirs.secretsDir, attempted: name, label: `secret file ${filePath}`, missingMessage },
    emitter,
  );
  return content.toString('utf8').replace(/\r?\n$/, '');
}

// ---- SSH keys ----

function hasDotDotSegment(p: string): boolean {
  // Backslashes count as separators too: a Windows-style "..\\" is a traversal attempt either way.
  return p.split(/[\\/]/).includes('..');
}

/**
 * Resolves key_path against the keys directory without touching the file system: rejects
 * over-long paths, `..` segments, NUL bytes and absolute paths outside the keys directory.
 */
export function resolveKeyPath(keyPath: string, dirs: { keysDir: string }, emitter: EventEmitter): string {
  const label = `key_path ${JSON.stringify(keyPath.length > 80 ? `${keyPath.slice(0, 80)}...` : keyPath)}`;
  if (keyPath.length > MAX_KEY_PATH_LENGTH) {
    refuse(
      emitter,
      {
        event_type: 'input_length_limit_exceeded',
        attempted_path: keyPath,
        field: 'key_path',
        length: keyPath.length,
        max_length: MAX_KEY_PATH_LENGTH,
      },
      `${label} is ${keyPath.length} characters long: expected at most ${MAX_KEY_PATH_LENGTH}`,
    );
  }
  const resolved = path.resolve(dirs.keysDir, keyPath);
  const traversal = {
    event_type: 'path_traversal_attempt',
    attempted_path: keyPath,
    resolved_path: resolved,
    base_dir: dirs.keysDir,
  } as const;
  if (hasDotDotSegment(keyPath) || keyPath.includes('\0')) {
    refuse(
      emitter,
      { ...traversal, reason: 'contains_traversal_pattern' },
      `${label} contains ${keyPath.includes('\0') ? 'a NUL byte' : '".."'}: expected a path inside the keys directory ${dirs.keysDir}`,
    );
  }
  if (!isInside(resolved, path.resolve(dirs.keysDir))) {
    refuse(
      emitter,
      { ...traversal, reason: 'path_outside_allowed_directory' },
      `${label} is outside the keys directory ${dirs.keysDir}: expected a path relative to it, or an absolute path inside it`,
    );
  }
  return resolved;
}

function keyFileRef(keyPath: string, resolved: string, dirs: { keysDir: string }): FileRef {
  return {
    filePath: resolved,
    baseDir: dirs.keysDir,
    attempted: keyPath,
    label: `key_path ${JSON.stringify(keyPath)}`,
    missingMessage: `key file ${resolved} not found: put the private key there or correct key_path`,
  };
}

/** Validates key_path and the file it names without reading it (used at config load). */
export async function checkKeyFile(keyPath: string, dirs: { keysDir: string }, emitter: EventEmitter): Promise<string> {
  const resolved = resolveKeyPath(keyPath, dirs, emitter);
  await checkRegularFile(keyFileRef(keyPath, resolved, dirs), emitter);
  return resolved;
}

/** Reads an SSH private key named by key_path, after the same checks as checkKeyFile. */
export async function readKeyFile(keyPath: string, dirs: { keysDir: string }, emitter: EventEmitter): Promise<Buffer> {
  const resolved = resolveKeyPath(keyPath, dirs, emitter);
  return readRegularFile(keyFileRef(keyPath, resolved, dirs), emitter);
}
