/**
 * Where a secret's value comes from, in the Python server's order: the bare environment variable
 * (as written, then upper-cased), MCP_SSH_SECRET_<NAME>, the key in secrets/.env, the file
 * secrets/<name>. The .env file gets the checks every secret file gets.
 */
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_FILE_SIZE, MissingFileError, UnsafePathError, readSecret } from '../../src/config/safe-paths.js';
import type { SecurityEvent } from '../../src/telemetry/events.js';
import { RecordingEmitter } from '../helpers/recording-emitter.js';

let root: string;
let dirs: { secretsDir: string };
let dotenvPath: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'mcp-ssh-secrets-'));
  dirs = { secretsDir: path.join(root, 'secrets') };
  dotenvPath = path.join(dirs.secretsDir, '.env');
  await mkdir(dirs.secretsDir);
  await mkdir(path.join(root, 'outside'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const securityEvents = (emitter: RecordingEmitter): SecurityEvent[] => emitter.ofType('security_event');

/** readSecret with a fresh emitter, asserting that no security event was raised. */
async function resolve(name: string, env: NodeJS.ProcessEnv): Promise<string> {
  const emitter = new RecordingEmitter();
  const value = await readSecret(name, dirs, emitter, env);
  expect(securityEvents(emitter)).toEqual([]);
  return value;
}

describe('each source alone', () => {
  it('the environment variable named exactly as the secret', async () => {
    expect(await resolve('db-pass', { 'db-pass': 'bare' })).toBe('bare');
  });

  it('the environment variable named by the upper-cased secret name (as the Docker MCP Gateway sets it)', async () => {
    expect(await resolve('db_pass', { DB_PASS: 'upper' })).toBe('upper');
    expect(await resolve('db-pass', { 'DB-PASS': 'upper-dash' })).toBe('upper-dash');
  });

  it('MCP_SSH_SECRET_<NAME>', async () => {
    expect(await resolve('db-pass', { MCP_SSH_SECRET_DB_PASS: 'prefixed' })).toBe('prefixed');
  });

  it('the key in secrets/.env, as written or upper-cased', async () => {
    await writeFile(dotenvPath, 'db-pass=from-dotenv\nAPI_TOKEN=tok\n');
    expect(await resolve('db-pass', {})).toBe('from-dotenv');
    expect(await resolve('api_token', {})).toBe('tok');
  });

  it('the file secrets/<name>, without its final newline', async () => {
    await writeFile(path.join(dirs.secretsDir, 'db-pass'), 'from-file\n');
    expect(await resolve('db-pass', {})).toBe('from-file');
  });
});

describe('precedence', () => {
  it('bare as written, then upper-cased, then MCP_SSH_SECRET_, then .env, then the file', async () => {
    await writeFile(dotenvPath, 'db-pass=dotenv\n');
    await writeFile(path.join(dirs.secretsDir, 'db-pass'), 'file\n');
    const env: NodeJS.ProcessEnv = { 'db-pass': 'bare', 'DB-PASS': 'upper', MCP_SSH_SECRET_DB_PASS: 'prefixed' };
    expect(await resolve('db-pass', env)).toBe('bare');
    delete env['db-pass'];
    expect(await resolve('db-pass', env)).toBe('upper');
    delete env['DB-PASS'];
    expect(await resolve('db-pass', env)).toBe('prefixed');
    delete env.MCP_SSH_SECRET_DB_PASS;
    expect(await resolve('db-pass', env)).toBe('dotenv');
    await rm(dotenvPath);
    expect(await resolve('db-pass', env)).toBe('file');
  });

  it('in .env, the name as written wins over the upper-cased one', async () => {
    await writeFile(dotenvPath, 'DB_PASS=upper\ndb_pass=exact\n');
    expect(await resolve('db_pass', {})).toBe('exact');
  });

  it('an empty bare variable counts as unset; an empty MCP_SSH_SECRET_ or .env value is the value', async () => {
    await writeFile(path.join(dirs.secretsDir, 'db-pass'), 'file\n');
    expect(await resolve('db-pass', { 'db-pass': '', 'DB-PASS': '' })).toBe('file');
    expect(await resolve('db-pass', { 'db-pass': '', MCP_SSH_SECRET_DB_PASS: '' })).toBe('');
    await writeFile(dotenvPath, 'db-pass=\n');
    expect(await resolve('db-pass', {})).toBe('');
  });

  it('a .env without the key falls through to the file', async () => {
    await writeFile(dotenvPath, 'other=1\n');
    await writeFile(path.join(dirs.secretsDir, 'db-pass'), 'file\n');
    expect(await resolve('db-pass', {})).toBe('file');
  });

  it('only own environment variables count, not inherited properties such as toString', async () => {
    await expect(readSecret('toString', dirs, new RecordingEmitter(), {})).rejects.toThrow(
      'secret "toString" not found',
    );
  });
});

describe('secrets/.env syntax (dotenv)', () => {
  it('reads quotes, comments, export lines, multi-line values; leaves process.env alone', async () => {
    await writeFile(
      dotenvPath,
      [
        '# a comment line',
        'export exported=from-export',
        'double="a # not a comment"',
        "single='raw $HOME \\n'",
        'escaped="a\\nb"',
        'plain=value # trailing comment',
        'spaced =  padded  ',
        'multi="line one',
        'line two"',
        'crlf=windows\r',
        '',
      ].join('\n'),
    );
    expect(await resolve('exported', {})).toBe('from-export');
    expect(await resolve('double', {})).toBe('a # not a comment');
    // Single quotes are literal (no expansion, no escapes); double quotes turn \n into a newline.
    expect(await resolve('single', {})).toBe('raw $HOME \\n');
    expect(await resolve('escaped', {})).toBe('a\nb');
    expect(await resolve('plain', {})).toBe('value');
    expect(await resolve('spaced', {})).toBe('padded');
    expect(await resolve('multi', {})).toBe('line one\nline two');
    expect(await resolve('crlf', {})).toBe('windows');
    expect(process.env.exported).toBeUndefined();
    expect(process.env.plain).toBeUndefined();
  });

  it('follows a symlink that stays inside the secrets directory (Kubernetes secret mounts)', async () => {
    await mkdir(path.join(dirs.secretsDir, '..data'));
    await writeFile(path.join(dirs.secretsDir, '..data', '.env'), 'db-pass=mounted\n');
    await symlink('..data/.env', dotenvPath);
    expect(await resolve('db-pass', {})).toBe('mounted');
  });
});

describe('secrets/.env is checked like a secret file', () => {
  it('refuses a .env that is a symlink leading outside, even when the secret file exists', async () => {
    await writeFile(path.join(root, 'outside', 'env'), 'db-pass=stolen\n');
    await symlink(path.join(root, 'outside', 'env'), dotenvPath);
    await writeFile(path.join(dirs.secretsDir, 'db-pass'), 'file\n');
    const emitter = new RecordingEmitter();
    const error: unknown = await readSecret('db-pass', dirs, emitter, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafePathError);
    expect((error as Error).message).toBe(
      `secrets file ${dotenvPath} is a symlink to ${path.join(root, 'outside', 'env')}, outside ${dirs.secretsDir}: ` +
        'symlinks must point inside that directory',
    );
    expect(securityEvents(emitter)).toEqual([
      {
        type: 'security_event',
        event_type: 'file_validation_failed',
        attempted_path: '.env',
        resolved_path: path.join(root, 'outside', 'env'),
        reason: 'path_is_symlink',
      },
    ]);
  });

  it('refuses a .env over the size limit without reading it', async () => {
    await writeFile(dotenvPath, 'db-pass=x\n');
    await truncate(dotenvPath, MAX_FILE_SIZE + 1);
    const emitter = new RecordingEmitter();
    await expect(readSecret('db-pass', dirs, emitter, {})).rejects.toThrow(
      `secrets file ${dotenvPath} is ${MAX_FILE_SIZE + 1} bytes: expected at most ${MAX_FILE_SIZE} bytes`,
    );
    expect(securityEvents(emitter)).toEqual([
      expect.objectContaining({
        event_type: 'file_size_limit_exceeded',
        attempted_path: '.env',
        file_size: MAX_FILE_SIZE + 1,
        max_size: MAX_FILE_SIZE,
      }),
    ]);
  });

  it('refuses a .env that is a directory', async () => {
    await mkdir(dotenvPath);
    const emitter = new RecordingEmitter();
    await expect(readSecret('db-pass', dirs, emitter, {})).rejects.toThrow(
      `secrets file ${dotenvPath} is a directory: expected a regular file`,
    );
    expect(securityEvents(emitter)).toEqual([
      expect.objectContaining({ event_type: 'file_validation_failed', reason: 'path_is_directory' }),
    ]);
  });

  it('an environment variable is used without reading .env at all', async () => {
    await symlink(path.join(root, 'outside', 'env'), dotenvPath);
    expect(await resolve('db-pass', { 'db-pass': 'bare' })).toBe('bare');
  });
});

describe('bad names are refused before any source is consulted', () => {
  it.each([
    ['a traversal', '../outside/env', 'contains_traversal_pattern'],
    ['an absolute path', '/etc/passwd', 'absolute_path_rejected'],
    ['a dot', 'db.pass', undefined],
    ['a space', 'db pass', undefined],
  ])('%s: %s', async (_what, name, traversal) => {
    // Every source holds a value under that name: none may be used.
    await writeFile(dotenvPath, `${name}=from-dotenv\n`);
    const emitter = new RecordingEmitter();
    const env = { [name]: 'bare', [name.toUpperCase()]: 'upper', [`MCP_SSH_SECRET_${name.toUpperCase()}`]: 'p' };
    await expect(readSecret(name, dirs, emitter, env)).rejects.toThrow(
      `secret name ${JSON.stringify(name)} is invalid: expected only letters, digits, "_" and "-"`,
    );
    expect(securityEvents(emitter).map((e) => e.reason)).toEqual([
      ...(traversal ? [traversal] : []),
      'contains_invalid_characters',
    ]);
  });

  it('a name over 100 characters, even when a bare variable has it', async () => {
    const name = 'a'.repeat(101);
    const emitter = new RecordingEmitter();
    await expect(readSecret(name, dirs, emitter, { [name]: 'bare' })).rejects.toThrow(
      'secret name is 101 characters long: expected at most 100',
    );
    expect(securityEvents(emitter)).toEqual([
      expect.objectContaining({ event_type: 'input_length_limit_exceeded', field: 'secret_name', length: 101 }),
    ]);
  });
});

describe('a secret found nowhere', () => {
  it('names every place looked in, in order, and what to do', async () => {
    const error: unknown = await readSecret('db-pass', dirs, new RecordingEmitter(), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingFileError);
    expect((error as Error).message).toBe(
      'secret "db-pass" not found; looked in, in order: the environment variables db-pass, DB-PASS, ' +
        `MCP_SSH_SECRET_DB_PASS (none set), the key db-pass or DB-PASS in ${dotenvPath} (no such file), ` +
        `the file ${path.join(dirs.secretsDir, 'db-pass')} (no such file). Set MCP_SSH_SECRET_DB_PASS, ` +
        `add db-pass=<value> to ${dotenvPath}, or create ${path.join(dirs.secretsDir, 'db-pass')}`,
    );
  });

  it('says when .env exists but lacks the key; an upper-case name is listed once', async () => {
    await writeFile(dotenvPath, 'OTHER=1\n');
    await expect(readSecret('TOKEN', dirs, new RecordingEmitter(), {})).rejects.toThrow(
      'the environment variables TOKEN, MCP_SSH_SECRET_TOKEN (none set), ' +
        `the key TOKEN in ${dotenvPath} (no such key), the file ${path.join(dirs.secretsDir, 'TOKEN')} (no such file)`,
    );
  });

  it('works when the secrets directory itself does not exist', async () => {
    await rm(dirs.secretsDir, { recursive: true });
    await expect(readSecret('db-pass', dirs, new RecordingEmitter(), {})).rejects.toThrow(
      `the key db-pass or DB-PASS in ${dotenvPath} (no such file)`,
    );
    expect(await resolve('db-pass', { 'DB-PASS': 'upper' })).toBe('upper');
  });
});
