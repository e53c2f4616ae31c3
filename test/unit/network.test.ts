import { describe, it, expect } from 'vitest';
import { networkSchema } from '../../src/config/schema.js';
import { DnsRateLimitError, HostResolver, NetworkPolicy } from '../../src/policy/network.js';
import { RecordingEmitter } from '../helpers/recording-emitter.js';

const policyOf = (net: Record<string, unknown>): NetworkPolicy => new NetworkPolicy(networkSchema.parse(net));

describe('NetworkPolicy', () => {
  it('allows everything when no lists are set', () => {
    const policy = policyOf({});
    expect(policy.check('8.8.8.8').allowed).toBe(true);
    expect(policy.check('2001:db8::1').allowed).toBe(true);
  });

  it('requires membership when an IPv4 allow list is set', () => {
    const policy = policyOf({ allow_cidrs: ['10.0.0.0/8'], allow_ips: ['192.168.1.10'] });
    expect(policy.check('10.1.2.3').allowed).toBe(true);
    expect(policy.check('192.168.1.10').allowed).toBe(true);
    const outside = policy.check('192.168.1.11');
    expect(outside.allowed).toBe(false);
    expect(outside.reason).toContain('allow');
  });

  it('judges IPv4-mapped IPv6 addresses as the IPv4 address', () => {
    const policy = policyOf({ allow_cidrs: ['10.0.0.0/8'], block_ips: ['10.0.0.5'] });
    expect(policy.check('::ffff:10.1.2.3').allowed).toBe(true);
    expect(policy.check('::ffff:a01:203').allowed).toBe(true);
    expect(policy.check('::ffff:192.168.1.1').allowed).toBe(false);
    expect(policy.check('::ffff:10.0.0.5').allowed).toBe(false);
  });

  it('lets blocks win over allows', () => {
    const policy = policyOf({ allow_cidrs: ['10.0.0.0/8'], block_ips: ['10.0.0.5'], block_cidrs: ['10.9.0.0/16'] });
    expect(policy.check('10.0.0.5')).toMatchObject({ allowed: false });
    expect(policy.check('10.9.1.1').reason).toContain('block');
    expect(policy.check('10.0.0.6').allowed).toBe(true);
  });

  it('blocks without an allow list leave other addresses allowed', () => {
    const policy = policyOf({ block_cidrs: ['169.254.0.0/16'] });
    expect(policy.check('169.254.169.254').allowed).toBe(false);
    expect(policy.check('8.8.8.8').allowed).toBe(true);
  });

  it('handles IPv6 allow and block lists', () => {
    const policy = policyOf({ allow_cidrs: ['fd00::/8'], block_cidrs: ['fd00:bad::/32'], block_ips: ['fd12::66'] });
    expect(policy.check('fd12::1').allowed).toBe(true);
    expect(policy.check('fd00:bad::1').allowed).toBe(false);
    expect(policy.check('fd12::66').allowed).toBe(false);
    expect(policy.check('2001:db8::1').allowed).toBe(false);
  });

  it('refuses the unspecified addresses, which reach this machine, even when an allow list covers them', () => {
    for (const policy of [policyOf({}), policyOf({ allow_cidrs: ['0.0.0.0/0', '::/0'] })]) {
      for (const ip of ['0.0.0.0', '::', '::ffff:0.0.0.0', '0:0::0']) {
        expect(policy.check(ip), ip).toMatchObject({
          allowed: false,
          reason: expect.stringContaining('unspecified address'),
        });
      }
      expect(policy.check('0.0.0.1').allowed).toBe(true);
    }
  });

  it('denies text that is not an IP address', () => {
    expect(policyOf({}).check('example.com')).toMatchObject({ allowed: false });
  });
});

/**
 * The lookup and the clock are injected: these are unit tests of the cache and rate-limit
 * logic, which must not depend on real DNS or wall-clock timing.
 */
function fakeDns(answers: Record<string, string[]> = { 'db.example.com': ['10.0.0.7', 'fd00::7'] }) {
  let time = 1_000_000;
  const calls: string[] = [];
  const emitter = new RecordingEmitter();
  const lookup = async (host: string) => {
    calls.push(host);
    const addresses = answers[host.toLowerCase().replace(/\.$/, '')];
    if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return {
    calls,
    emitter,
    advance: (ms: number) => {
      time += ms;
    },
    resolver: (maxPerSecond: number, cacheTtlSeconds: number) =>
      new HostResolver({ maxPerSecond, cacheTtlSeconds, emitter, lookup, now: () => time }),
  };
}

describe('HostResolver', () => {
  it('returns an IP literal without a lookup', async () => {
    const dns = fakeDns();
    const resolver = dns.resolver(1, 60);
    expect(await resolver.resolve('10.1.2.3')).toEqual({ addresses: [{ address: '10.1.2.3', family: 4 }] });
    expect(await resolver.resolve('fd00::1')).toEqual({ addresses: [{ address: 'fd00::1', family: 6 }] });
    expect(dns.calls).toEqual([]);
  });

  it('resolves names to IPv4 and IPv6 addresses', async () => {
    const dns = fakeDns();
    expect(await dns.resolver(10, 60).resolve('db.example.com')).toEqual({
      addresses: [
        { address: '10.0.0.7', family: 4 },
        { address: 'fd00::7', family: 6 },
      ],
    });
  });

  it('serves repeats from the cache until the TTL passes', async () => {
    const dns = fakeDns();
    const resolver = dns.resolver(10, 60);
    await resolver.resolve('db.example.com');
    await resolver.resolve('db.example.com');
    expect(dns.calls).toHaveLength(1);
    dns.advance(61_000);
    await resolver.resolve('db.example.com');
    expect(dns.calls).toHaveLength(2);
  });

  it('does not count cache hits toward the rate', async () => {
    const dns = fakeDns();
    const resolver = dns.resolver(1, 60);
    for (let i = 0; i < 5; i++) await resolver.resolve('db.example.com');
    expect(dns.calls).toHaveLength(1);
    expect(dns.emitter.events).toEqual([]);
  });

  it('joins concurrent requests for one name into one lookup', async () => {
    const dns = fakeDns();
    const resolver = dns.resolver(1, 0);
    await Promise.all([resolver.resolve('db.example.com'), resolver.resolve('db.example.com')]);
    expect(dns.calls).toHaveLength(1);
  });

  it('rejects lookups beyond max per second and reports one security event', async () => {
    const dns = fakeDns();
    const resolver = dns.resolver(3, 0);
    for (let i = 0; i < 3; i++) await resolver.resolve('db.example.com');
    await expect(resolver.resolve('db.example.com')).rejects.toBeInstanceOf(DnsRateLimitError);
    await expect(resolver.resolve('DB.example.com.')).rejects.toThrow(/exceed 3 per second/);
    expect(dns.calls).toHaveLength(3);
    expect(dns.emitter.ofType('security_event')).toEqual([
      { type: 'security_event', event_type: 'dns_rate_limit_exceeded', hostname: 'db.example.com', max_per_second: 3 },
    ]);

    dns.advance(1000);
    await expect(resolver.resolve('db.example.com')).resolves.toMatchObject({ addresses: expect.any(Array) });
    expect(dns.calls).toHaveLength(4);
  });

  it('limits each name separately', async () => {
    const dns = fakeDns({ 'a.example.com': ['10.0.0.1'], 'b.example.com': ['10.0.0.2'] });
    const resolver = dns.resolver(1, 0);
    await resolver.resolve('a.example.com');
    await expect(resolver.resolve('a.example.com')).rejects.toBeInstanceOf(DnsRateLimitError);
    await expect(resolver.resolve('b.example.com')).resolves.toBeDefined();
  });

  it('explains a failed lookup and does not cache it', async () => {
    const dns = fakeDns();
    const resolver = dns.resolver(10, 60);
    await expect(resolver.resolve('nope.invalid')).rejects.toThrow(
      /could not resolve host name 'nope\.invalid' \(ENOTFOUND\)\. Check/i,
    );
    await expect(resolver.resolve('nope.invalid')).rejects.toThrow(/servers\.yml/);
    expect(dns.calls).toEqual(['nope.invalid', 'nope.invalid']);
  });

  it('treats an empty answer as a failure', async () => {
    const dns = fakeDns({ 'empty.example.com': [] });
    await expect(dns.resolver(10, 60).resolve('empty.example.com')).rejects.toThrow(/could not resolve/i);
  });
});
