/**
 * Strict host-key verification against an OpenSSH known_hosts file. Supports plain and
 * `[host]:port` patterns, wildcards, negation, hashed entries (`|1|salt|hash`) and the
 * `@revoked` marker. There is no auto-add: an unknown key is refused like a changed one.
 *
 * Like OpenSSH's client, the connection asks first for the host-key algorithms of the key types
 * known_hosts holds for the host (`hostKeyAlgorithms`), so a server that has an ed25519 key and
 * the RSA key we know presents the RSA one instead of failing the check.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export type HostKeyVerdict =
  { status: 'match' } | { status: 'unknown' } | { status: 'mismatch'; expectedTypes: string[] } | { status: 'revoked' };

/**
 * The host-key algorithms the client can verify, most preferred first: ssh2's default
 * `serverHostKey` list (ssh2 1.17; a unit test keeps the two equal). `ssh-dss` is left out, as
 * ssh2 and OpenSSH leave it out of their defaults.
 */
export const HOST_KEY_ALGORITHMS: readonly string[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** The algorithms a server signs with for a key of each type (an RSA key serves three). */
const ALGORITHMS_BY_KEY_TYPE: Readonly<Record<string, readonly string[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

interface KnownHostEntry {
  marker: '' | '@revoked' | '@cert-authority';
  patterns: string;
  keyType: string;
  key: Buffer;
}

export class KnownHosts {
  private constructor(
    readonly path: string,
    private readonly entries: KnownHostEntry[],
    /**
     * The file did not exist when loaded (`allowMissing`): no key can be verified, so every
     * connection is refused as `host_key_unknown`, with a message saying the file is missing.
     */
    readonly missing = false,
  ) {}

  /**
   * Reads and parses the file. A file that cannot be read is an error that says how to create
   * one; with `allowMissing`, a file that does not exist (ENOENT, ENOTDIR) gives an empty
   * KnownHosts whose `missing` is true instead. Other failures (a directory, no permission)
   * stay errors.
   */
  static async load(path: string, opts: { allowMissing?: boolean } = {}): Promise<KnownHosts> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (opts.allowMissing && (code === 'ENOENT' || code === 'ENOTDIR')) return new KnownHosts(path, [], true);
      throw new Error(
        `cannot read known_hosts file ${path} (${code ?? String(err)}): create it with ` +
          '`ssh-keyscan -p PORT HOST >> known_hosts` after checking the fingerprints, or set known_hosts_path in policy.yml',
        { cause: err },
      );
    }
    return new KnownHosts(path, parseKnownHosts(text));
  }

  static fromText(text: string, path = '<memory>'): KnownHosts {
    return new KnownHosts(path, parseKnownHosts(text));
  }

  /** Checks the key a server presented for `host` on `port`. */
  verify(host: string, port: number, key: Buffer): HostKeyVerdict {
    const keyType = sshKeyType(key);
    const forHost = this.entriesFor(host, port);
    if (forHost.some((e) => e.marker === '@revoked' && e.key.equals(key))) return { status: 'revoked' };
    const candidates = forHost.filter((e) => e.marker === '');
    if (candidates.some((e) => e.key.length === key.length && timingSafeEqual(e.key, key))) return { status: 'match' };
    if (candidates.some((e) => e.keyType === keyType)) return { status: 'mismatch', expectedTypes: [keyType] };
    // A key of another type than every known one is a changed key too, as OpenSSH has it
    // (hostfile.c: "no key matches but a key with a different type is found → HOST_CHANGED"):
    // hostKeyAlgorithms asked for the known types first, so the server no longer holds any of
    // them, or it is not the server. Calling it "unknown" would invite adding the new key.
    if (candidates.length > 0)
      return { status: 'mismatch', expectedTypes: [...new Set(candidates.map((e) => e.keyType))] };
    return { status: 'unknown' };
  }

  /**
   * The `serverHostKey` algorithm list to offer when connecting to `host` on `port`: those of the
   * key types known_hosts holds for it first, then the others, in HOST_KEY_ALGORITHMS order —
   * OpenSSH's order_hostkeyalgs. Undefined when no key is known for the host: keep ssh2's
   * defaults (the key it gets is then unknown). `@revoked` and `@cert-authority` lines don't
   * count; a plain line does even when its key is also revoked, so the server presents it and
   * the check reports it as revoked.
   */
  hostKeyAlgorithms(host: string, port: number): string[] | undefined {
    const known = new Set(
      this.entriesFor(host, port)
        .filter((e) => e.marker === '')
        .flatMap((e) => ALGORITHMS_BY_KEY_TYPE[e.keyType] ?? []),
    );
    if (known.size === 0) return undefined;
    return [...HOST_KEY_ALGORITHMS.filter((a) => known.has(a)), ...HOST_KEY_ALGORITHMS.filter((a) => !known.has(a))];
  }

  /** Entries whose patterns name the host (`host` on 22, else `[host]:port`), CA lines left out. */
  private entriesFor(host: string, port: number): KnownHostEntry[] {
    const names = port === 22 ? [host, `[${host}]:22`] : [`[${host}]:${port}`];
    return this.entries.filter((e) => e.marker !== '@cert-authority' && names.some((n) => hostMatches(e.patterns, n)));
  }
}

/** SHA256 fingerprint in OpenSSH's format, for error messages users can compare. */
export function fingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** The algorithm name embedded at the start of an SSH wire-format public key. */
export function sshKeyType(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const len = key.readUInt32BE(0);
  return key.subarray(4, 4 + len).toString('latin1');
}

function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'] = '';
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority')
      marker = fields.shift() as KnownHostEntry['marker'];
    const [patterns, keyType, keyB64] = fields;
    if (patterns === undefined || keyType === undefined || keyB64 === undefined) continue;
    const key = Buffer.from(keyB64, 'base64');
    // OpenSSH skips a line whose key does not carry the type the line names.
    if (key.length === 0 || sshKeyType(key) !== keyType) continue;
    entries.push({ marker, patterns, keyType, key });
  }
  return entries;
}

/** A comma-separated pattern list matches when some positive pattern matches and no negated one does. */
function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) return hashedMatches(patterns, name);
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1) : pattern;
    if (wildcardMatch(body.toLowerCase(), name.toLowerCase())) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function hashedMatches(entry: string, name: string): boolean {
  const [, , salt, hash] = entry.split('|');
  if (salt === undefined || hash === undefined) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  const expected = Buffer.from(hash, 'base64');
  return expected.length === digest.length && timingSafeEqual(expected, digest);
}

function wildcardMatch(pattern: string, text: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
  return re.test(text);
}
