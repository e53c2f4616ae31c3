/**
 * Network policy for SSH targets: which IP addresses may be dialled, and a rate-limited,
 * cached DNS resolver so a misbehaving client cannot turn the server into a DNS amplifier.
 */
import { promises as dns } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { NetworkConfig } from '../config/schema.js';
import type { EventEmitter } from '../telemetry/events.js';
import { securityEventOf } from '../telemetry/events.js';

export interface NetworkVerdict {
  allowed: boolean;
  reason: string;
}

type Family = 'ipv4' | 'ipv6';

/**
 * block_ips / block_cidrs always win; when allow_ips or allow_cidrs is non-empty the address
 * must be in one of them, otherwise every address not blocked is allowed. node:net BlockList
 * matches IPv4 rules against IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) and vice versa, so
 * a mapped address is judged as the IPv4 address it carries.
 */
export class NetworkPolicy {
  private readonly blocked = new BlockList();
  private readonly allowed = new BlockList();
  private readonly hasAllowList: boolean;

  constructor(net: NetworkConfig) {
    for (const ip of net.block_ips) this.blocked.addAddress(ip, familyOf(ip));
    for (const cidr of net.block_cidrs) addSubnet(this.blocked, cidr);
    for (const ip of net.allow_ips) this.allowed.addAddress(ip, familyOf(ip));
    for (const cidr of net.allow_cidrs) addSubnet(this.allowed, cidr);
    this.hasAllowList = net.allow_ips.length > 0 || net.allow_cidrs.length > 0;
  }

  check(ip: string): NetworkVerdict {
    // A zone id (`fe80::1%eth0`) names an interface, not a different address.
    const address = ip.split('%')[0] ?? '';
    if (isIP(address) === 0) return { allowed: false, reason: `'${ip}' is not an IP address.` };
    const family = familyOf(address);
    // Dialling the unspecified address reaches this machine under another name (the peer is then
    // 127.0.0.1 or ::1): no rule written for real addresses can be meant to cover it.
    if (UNSPECIFIED.check(address, family)) {
      return {
        allowed: false,
        reason: `${ip} is the unspecified address, which connects to this machine; name the host by its own address in servers.yml.`,
      };
    }
    if (this.blocked.check(address, family)) {
      return { allowed: false, reason: `${ip} is in network.block_ips or network.block_cidrs.` };
    }
    if (this.hasAllowList && !this.allowed.check(address, family)) {
      return { allowed: false, reason: `${ip} is not in network.allow_ips or network.allow_cidrs.` };
    }
    return {
      allowed: true,
      reason: this.hasAllowList
        ? `${ip} is in the network allow list.`
        : `${ip} is not blocked and no allow list is set.`,
    };
  }
}

const UNSPECIFIED = new BlockList();
UNSPECIFIED.addAddress('0.0.0.0', 'ipv4');
UNSPECIFIED.addAddress('::', 'ipv6');

function familyOf(ip: string): Family {
  return isIP(ip) === 6 ? 'ipv6' : 'ipv4';
}

function addSubnet(list: BlockList, cidr: string): void {
  const [address = '', bits = ''] = cidr.split('/');
  list.addSubnet(address, Number(bits), familyOf(address));
}

export interface Resolution {
  addresses: { address: string; family: 4 | 6 }[];
}

export type LookupFunction = (host: string) => Promise<{ address: string; family: number }[]>;

export interface HostResolverOptions {
  /** Real lookups allowed per host name within one second. */
  maxPerSecond: number;
  /** Seconds a successful lookup is reused; 0 disables the cache. */
  cacheTtlSeconds: number;
  emitter: EventEmitter;
  lookup?: LookupFunction;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

export class DnsRateLimitError extends Error {
  constructor(
    readonly hostname: string,
    readonly maxPerSecond: number,
  ) {
    super(`DNS lookups of '${hostname}' exceed ${maxPerSecond} per second; try again in a second.`);
    this.name = 'DnsRateLimitError';
  }
}

const RATE_WINDOW_MS = 1000;

const systemLookup: LookupFunction = (host) => dns.lookup(host, { all: true });

/**
 * Resolves host names with a per-name cache and a per-name rate limit. Only real lookups count
 * toward the rate; cache hits and callers that join an in-flight lookup do not. Names are
 * compared case-insensitively and without a trailing dot, so `Example.COM.` cannot dodge the
 * limit that `example.com` hit.
 */
export class HostResolver {
  private readonly maxPerSecond: number;
  private readonly cacheTtlMs: number;
  private readonly emitter: EventEmitter;
  private readonly lookup: LookupFunction;
  private readonly now: () => number;
  private readonly cache = new Map<string, { expiresAt: number; resolution: Resolution }>();
  private readonly inFlight = new Map<string, Promise<Resolution>>();
  private readonly recentLookups = new Map<string, number[]>();
  /** Start of the window in which a rate-limit event was last reported, per name. */
  private readonly reportedWindow = new Map<string, number>();

  constructor(opts: HostResolverOptions) {
    this.maxPerSecond = opts.maxPerSecond;
    this.cacheTtlMs = opts.cacheTtlSeconds * 1000;
    this.emitter = opts.emitter;
    this.lookup = opts.lookup ?? systemLookup;
    this.now = opts.now ?? Date.now;
  }

  resolve(hostname: string): Promise<Resolution> {
    const literal = isIP(hostname);
    if (literal !== 0) return Promise.resolve({ addresses: [{ address: hostname, family: literal === 6 ? 6 : 4 }] });

    const key = hostname.toLowerCase().replace(/\.$/, '');
    const now = this.now();
    const cached = this.cache.get(key);
    if (cached !== undefined && cached.expiresAt > now) return Promise.resolve(copyOf(cached.resolution));
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending.then(copyOf);

    const recent = (this.recentLookups.get(key) ?? []).filter((t) => now - t < RATE_WINDOW_MS);
    if (recent.length >= this.maxPerSecond) {
      this.recentLookups.set(key, recent);
      this.reportRateLimit(key, hostname, recent[0] ?? now);
      return Promise.reject(new DnsRateLimitError(hostname, this.maxPerSecond));
    }
    recent.push(now);
    this.recentLookups.set(key, recent);

    const lookup = this.lookUp(hostname).then((resolution) => {
      if (this.cacheTtlMs > 0) this.cache.set(key, { expiresAt: this.now() + this.cacheTtlMs, resolution });
      return resolution;
    });
    this.inFlight.set(key, lookup);
    const forget = (): void => {
      this.inFlight.delete(key);
    };
    lookup.then(forget, forget);
    return lookup.then(copyOf);
  }

  private async lookUp(hostname: string): Promise<Resolution> {
    let results: { address: string; family: number }[];
    try {
      results = await this.lookup(hostname);
    } catch (err) {
      const detail = err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err);
      throw new Error(
        `Could not resolve host name '${hostname}' (${detail}). Check the host's spelling in servers.yml and that this machine's DNS can resolve it.`,
        { cause: err },
      );
    }
    const addresses = results.map((r) => ({
      address: r.address,
      family: r.family === 6 ? (6 as const) : (4 as const),
    }));
    if (addresses.length === 0) {
      throw new Error(
        `Could not resolve host name '${hostname}' (no addresses). Check the host's spelling in servers.yml and its DNS records.`,
      );
    }
    return { addresses };
  }

  /** One event per name per window: a client hammering a name must not also flood the log. */
  private reportRateLimit(key: string, hostname: string, windowStart: number): void {
    if (this.reportedWindow.get(key) === windowStart) return;
    this.reportedWindow.set(key, windowStart);
    this.emitter.emit(
      securityEventOf({ event_type: 'dns_rate_limit_exceeded', hostname, max_per_second: this.maxPerSecond }),
    );
  }
}

function copyOf(resolution: Resolution): Resolution {
  return { addresses: resolution.addresses.map((a) => ({ ...a })) };
}
