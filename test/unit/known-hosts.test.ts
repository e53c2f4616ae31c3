import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KnownHosts, fingerprint, sshKeyType } from '../../src/ssh/known-hosts.js';

/** Host keys made by the real ssh-keygen, so the wire format is OpenSSH's own. */
function makeKey(dir: string, name: string, type: string): { line: string; blob: Buffer; keyType: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', path], { stdio: 'ignore' });
  const [keyType, b64] = readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/) as [string, string];
  return { line: `${keyType} ${b64}`, blob: Buffer.from(b64, 'base64'), keyType };
}

describe('KnownHosts', () => {
  let dir: string;
  let a: ReturnType<typeof makeKey>;
  let b: ReturnType<typeof makeKey>;
  let ec: ReturnType<typeof makeKey>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kh-'));
    a = makeKey(dir, 'a', 'ed25519');
    b = makeKey(dir, 'b', 'ed25519');
    ec = makeKey(dir, 'ec', 'ecdsa');
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

  it('reports a key of another type than the known one as a mismatch too (no auto-add of new types)', () => {
    const kh = KnownHosts.fromText(`web1 ${a.line}\n`);
    expect(kh.verify('web1', 22, ec.blob).status).toBe('mismatch');
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
});
