import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HOST_KEY_ALGORITHMS, KnownHosts, fingerprint, sshKeyType } from '../../src/ssh/known-hosts.js';

/** Host keys made by the real ssh-keygen, so the wire format is OpenSSH's own. */
function makeKey(
  dir: string,
  name: string,
  type: string,
  bits?: number,
): { line: string; blob: Buffer; keyType: string } {
  const path = join(dir, name);
  const args = ['-q', '-t', type, '-N', '', '-f', path];
  if (bits !== undefined) args.push('-b', String(bits));
  execFileSync('ssh-keygen', args, { stdio: 'ignore' });
  const [keyType, b64] = readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/) as [string, string];
  return { line: `${keyType} ${b64}`, blob: Buffer.from(b64, 'base64'), keyType };
}

describe('KnownHosts', () => {
  let dir: string;
  let a: ReturnType<typeof makeKey>;
  let b: ReturnType<typeof makeKey>;
  let ec: ReturnType<typeof makeKey>;

  let ec384: ReturnType<typeof makeKey>;
  let rsa: ReturnType<typeof makeKey>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kh-'));
    a = makeKey(dir, 'a', 'ed25519');
    b = makeKey(dir, 'b', 'ed25519');
    ec = makeKey(dir, 'ec', 'ecdsa', 256);
    ec384 = makeKey(dir, 'ec384', 'ecdsa', 384);
    rsa = makeKey(dir, 'rsa', 'rsa', 2048);
  });

  it('matches a plain entry on port 22 and a [host]:port entry on other ports', () => {
    const kh = KnownHosts.fromText(`web1.example.com ${a.line}\n[10.0.0.5]:2222 ${a.line}\n`);
    expect(kh.verify('web1.example.com', 22, a.blob)).toEqual({ status: 'match' });
    expect(kh.verify('10.0.0.5', 2222, a.blob)).toEqual({ status: 'match' });
    // The [host]:port entry does not vouch for port 22, nor the bare entry for another port.
    expect(kh.verify('10.0.0.5', 22, a.blob)).toEqual({ status: 'unknown' });
    expect(kh.verify('web1.example.com', 2200, a.blob)).toEqual({ status: 'unknown' });
  });

  it('reports a changed key of the same type as a mismatch', () => {
    const kh = KnownHosts.fromText(`web1 ${a.line}\n`);
    expect(kh.verify('web1', 22, b.blob)).toEqual({ status: 'mismatch', expectedTypes: ['ssh-ed25519'] });
  });

  it('reports a key of another type than every known one as a mismatch too, as OpenSSH does', () => {
    // OpenSSH's hostfile.c: "no key matches but a key with a different type is found → HOST_CHANGED".
    // With hostKeyAlgorithms the server is asked for the known types first, so this happens only
    // when it holds none of them; "unknown" would invite adding the new key.
    const kh = KnownHosts.fromText(`web1 ${a.line}\nweb1 ${rsa.line}\n`);
    expect(kh.verify('web1', 22, ec.blob)).toEqual({ status: 'mismatch', expectedTypes: ['ssh-ed25519', 'ssh-rsa'] });
    // Known for another host only: unknown.
    expect(kh.verify('web2', 22, ec.blob)).toEqual({ status: 'unknown' });
  });

  it('skips a line whose key does not carry the type the line names, as OpenSSH does', () => {
    const kh = KnownHosts.fromText(`web1 ssh-rsa ${a.line.split(' ')[1]}\n`);
    expect(kh.verify('web1', 22, a.blob)).toEqual({ status: 'unknown' });
    expect(kh.hostKeyAlgorithms('web1', 22)).toBeUndefined();
  });

  it('understands hashed entries written by ssh-keygen -H', () => {
    const file = join(dir, 'known_hosts_hashed');
    writeFileSync(file, `[127.0.0.1]:2022 ${a.line}\nweb2 ${b.line}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('127.0.0.1');
    expect(text).toMatch(/^\|1\|/m);
    const kh = KnownHosts.fromText(text);
    expect(kh.verify('127.0.0.1', 2022, a.blob)).toEqual({ status: 'match' });
    expect(kh.verify('web2', 22, b.blob)).toEqual({ status: 'match' });
    expect(kh.verify('web2', 22, a.blob).status).toBe('mismatch');
    expect(kh.verify('127.0.0.2', 2022, a.blob)).toEqual({ status: 'unknown' });
  });

  it('honours wildcards, negation, comments and @revoked', () => {
    const kh = KnownHosts.fromText(
      [
        `# fleet`,
        `*.prod.example,!db.prod.example ${a.line}`,
        `@revoked old.example ${b.line}`,
        `old.example ${b.line}`,
      ].join('\n'),
    );
    expect(kh.verify('web.prod.example', 22, a.blob)).toEqual({ status: 'match' });
    expect(kh.verify('db.prod.example', 22, a.blob)).toEqual({ status: 'unknown' });
    expect(kh.verify('old.example', 22, b.blob)).toEqual({ status: 'revoked' });
  });

  describe('hostKeyAlgorithms: the known types first, as OpenSSH orders HostKeyAlgorithms', () => {
    const ED = 'ssh-ed25519';
    const EC = ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'];
    const RSA = ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
    /** The list offered when exactly `first` are known. */
    const offered = (first: string[]): string[] => [...first, ...HOST_KEY_ALGORITHMS.filter((x) => !first.includes(x))];

    it('mirrors the default serverHostKey list of the installed ssh2', () => {
      const constants = createRequire(import.meta.url)('ssh2/lib/protocol/constants.js') as {
        DEFAULT_SERVER_HOST_KEY: string[];
        SUPPORTED_SERVER_HOST_KEY: string[];
      };
      expect(HOST_KEY_ALGORITHMS).toEqual(constants.DEFAULT_SERVER_HOST_KEY);
      for (const alg of [ED, ...EC, ...RSA]) expect(constants.SUPPORTED_SERVER_HOST_KEY).toContain(alg);
    });

    it('an RSA key asks for rsa-sha2-512, rsa-sha2-256 and ssh-rsa first; ECDSA for its own curve', () => {
      const kh = KnownHosts.fromText(`rsa1 ${rsa.line}\nec1 ${ec.line}\nec2 ${ec384.line}\ned1 ${a.line}\n`);
      expect(kh.hostKeyAlgorithms('rsa1', 22)).toEqual([...RSA, ED, ...EC]);
      expect(kh.hostKeyAlgorithms('ec1', 22)).toEqual(offered(['ecdsa-sha2-nistp256']));
      expect(kh.hostKeyAlgorithms('ec2', 22)).toEqual(offered(['ecdsa-sha2-nistp384']));
      expect(kh.hostKeyAlgorithms('ed1', 22)).toEqual([...HOST_KEY_ALGORITHMS]);
    });

    it('several known types keep the default order among themselves', () => {
      const kh = KnownHosts.fromText(`web1 ${rsa.line}\nweb1 ${ec.line}\n`);
      expect(kh.hostKeyAlgorithms('web1', 22)).toEqual(['ecdsa-sha2-nistp256', ...RSA, ED, ...EC.slice(1)]);
    });

    it('none known for the host: undefined, so ssh2 keeps its defaults', () => {
      const kh = KnownHosts.fromText(`web1 ${rsa.line}\n`);
      expect(kh.hostKeyAlgorithms('web2', 22)).toBeUndefined();
      expect(KnownHosts.fromText('').hostKeyAlgorithms('web1', 22)).toBeUndefined();
    });

    it('[host]:port entries count for that port only, bare ones for port 22', () => {
      const kh = KnownHosts.fromText(`[10.0.0.5]:2222 ${rsa.line}\n10.0.0.5 ${ec.line}\n[10.0.0.5]:22 ${ec384.line}\n`);
      expect(kh.hostKeyAlgorithms('10.0.0.5', 2222)).toEqual(offered(RSA));
      expect(kh.hostKeyAlgorithms('10.0.0.5', 22)).toEqual(offered(['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384']));
      expect(kh.hostKeyAlgorithms('10.0.0.5', 2200)).toBeUndefined();
    });

    it('hashed entries written by ssh-keygen -H', () => {
      const file = join(dir, 'known_hosts_hashed_algs');
      writeFileSync(file, `[127.0.0.1]:2022 ${rsa.line}\nweb2 ${ec.line}\n`);
      execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
      const text = readFileSync(file, 'utf8');
      expect(text).not.toMatch(/127\.0\.0\.1|web2/);
      const kh = KnownHosts.fromText(text);
      expect(kh.hostKeyAlgorithms('127.0.0.1', 2022)).toEqual(offered(RSA));
      expect(kh.hostKeyAlgorithms('web2', 22)).toEqual(offered(['ecdsa-sha2-nistp256']));
      expect(kh.hostKeyAlgorithms('127.0.0.1', 22)).toBeUndefined();
      expect(kh.hostKeyAlgorithms('web3', 22)).toBeUndefined();
    });

    it('wildcards and negation', () => {
      const kh = KnownHosts.fromText(`*.prod.example,!db.prod.example ${rsa.line}\nweb?.test ${ec.line}\n`);
      expect(kh.hostKeyAlgorithms('web.prod.example', 22)).toEqual(offered(RSA));
      expect(kh.hostKeyAlgorithms('DB.prod.example', 22)).toBeUndefined();
      expect(kh.hostKeyAlgorithms('web1.test', 22)).toEqual(offered(['ecdsa-sha2-nistp256']));
      expect(kh.hostKeyAlgorithms('web10.test', 22)).toBeUndefined();
    });

    it('@revoked and @cert-authority lines do not count; a plain line does even when also revoked', () => {
      const onlyMarked = KnownHosts.fromText(
        `@revoked old.example ${rsa.line}\n@cert-authority *.example ${ec.line}\n`,
      );
      expect(onlyMarked.hostKeyAlgorithms('old.example', 22)).toBeUndefined();
      expect(onlyMarked.hostKeyAlgorithms('web.example', 22)).toBeUndefined();
      const both = KnownHosts.fromText(`@revoked old.example ${rsa.line}\nold.example ${rsa.line}\n`);
      // The server is asked for that key, and the check then says it is revoked.
      expect(both.hostKeyAlgorithms('old.example', 22)).toEqual(offered(RSA));
      expect(both.verify('old.example', 22, rsa.blob)).toEqual({ status: 'revoked' });
    });
  });

  it('formats fingerprints like OpenSSH', () => {
    const expected = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'a.pub')], {
      encoding: 'utf8',
    }).split(/\s+/)[1];
    expect(fingerprint(a.blob)).toBe(expected);
    expect(sshKeyType(a.blob)).toBe('ssh-ed25519');
  });

  it('explains how to create a missing file', async () => {
    await expect(KnownHosts.load(join(dir, 'nope'))).rejects.toThrow(/cannot read known_hosts file .*ssh-keyscan/);
  });

  it('with allowMissing, a file that does not exist knows no key; a directory is still an error', async () => {
    const missing = await KnownHosts.load(join(dir, 'nope'), { allowMissing: true });
    expect(missing.missing).toBe(true);
    expect(missing.path).toBe(join(dir, 'nope'));
    expect(missing.verify('a.example', 22, a.blob)).toEqual({ status: 'unknown' });
    expect(missing.hostKeyAlgorithms('a.example', 22)).toBeUndefined();
    // A parent that is a file (ENOTDIR) is "does not exist" too.
    writeFileSync(join(dir, 'plain'), '');
    expect((await KnownHosts.load(join(dir, 'plain', 'known_hosts'), { allowMissing: true })).missing).toBe(true);
    await expect(KnownHosts.load(dir, { allowMissing: true })).rejects.toThrow(/cannot read known_hosts file .*EISDIR/);
    const present = await KnownHosts.load(join(dir, 'plain'), { allowMissing: true });
    expect(present.missing).toBe(false);
  });
});
