/**
 * What `check` says about a policy beyond "it loads": rules that send text unchecked, and rules
 * whose wildcard stands where a program name would be — since a wildcard never admits a
 * program run by another command, such a rule admits less than it seems to.
 */
import { BlockList, isIP } from 'node:net';
import type { NetworkConfig, PolicyFile } from '../config/schema.js';
import { effectsOf } from './programs/index.js';
import type { Arg } from './programs/types.js';
import { pythonOrderWarnings } from './rule-order.js';
import { ruleName, SUBSTITUTION_CONSTRUCTS } from './rules.js';

const PROBE = '\u0000program';

function lit(value: string): Arg {
  return { value, exact: true, splits: false, mayBeOption: false };
}

export function lintPolicy(policy: PolicyFile): string[] {
  const warnings: string[] = [];
  policy.rules.forEach((rule, index) => {
    if (rule.action !== 'allow') return;
    const name = ruleName(rule, index);
    const unchecked = new Set<string>(rule.allow_syntax);
    if (rule.allow_substitution) for (const c of SUBSTITUTION_CONSTRUCTS) unchecked.add(c);
    if (unchecked.size > 0)
      warnings.push(
        `rule '${name}': commands it matches that use ${[...unchecked].join(', ')} are sent as written, unchecked (allow_syntax${rule.allow_substitution ? ' / allow_substitution' : ''})`,
      );
    for (const pattern of rule.commands) {
      const wildcard = pattern.search(/[*?]/);
      if (wildcard < 0) continue;
      const prefix = pattern.slice(0, wildcard);
      if (!prefix.includes(' ')) {
        if (wildcard === 0)
          warnings.push(
            `rule '${name}': '${pattern}' admits any command on its own, but no program run by another command (sudo, find -exec, sh -c …): name those programs literally`,
          );
        continue;
      }
      // The words spelled out before the wildcard, then a probe where the wildcard stands.
      const words = prefix.trimEnd().split(/ +/);
      const endsWithWord = !prefix.endsWith(' ');
      const argv = [...words.map(lit), ...(endsWithWord ? [] : [lit(PROBE)])];
      const runsProbe = effectsOf(argv).some((e) => e.kind === 'runs' && e.argv[0]?.value === PROBE);
      if (runsProbe)
        warnings.push(
          `rule '${name}': in '${pattern}' the wildcard stands where the program ${words[0]} runs would be named, and a wildcard never admits a program; it no longer admits '${prefix}PROGRAM …' unless PROGRAM is allowed on its own — spell the programs out (e.g. '${prefix}systemctl restart *')`,
        );
    }
  });
  warnings.push(...pythonOrderWarnings(policy));
  warnings.push(...shadowedAllowWarnings(policy.network));
  return warnings;
}

/** A CIDR (or a single address, as /32 or /128) as BlockList wants it. */
function subnetOf(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', bits] = entry.split('/');
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return { address, prefix: bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits), family };
}

/**
 * Allow entries a block entry swallows whole: blocks win, so they can never admit anything (a
 * cookbook pairing `block_cidrs: [0.0.0.0/0]` with `allow_cidrs: [10.0.0.0/8]` blocks every
 * address, in the Python server too).
 */
function shadowedAllowWarnings(network: NetworkConfig): string[] {
  const warnings: string[] = [];
  const blocks = [...network.block_ips, ...network.block_cidrs].map((entry) => {
    const subnet = subnetOf(entry);
    const list = new BlockList();
    list.addSubnet(subnet.address, subnet.prefix, subnet.family);
    return { entry, prefix: subnet.prefix, family: subnet.family, list };
  });
  for (const [key, entries] of [
    ['allow_ips', network.allow_ips],
    ['allow_cidrs', network.allow_cidrs],
  ] as const) {
    for (const entry of entries) {
      const allow = subnetOf(entry);
      const block = blocks.find(
        (b) => b.family === allow.family && b.prefix <= allow.prefix && b.list.check(allow.address, allow.family),
      );
      if (block)
        warnings.push(
          `network.${key} ${entry} can never admit an address: ${block.entry} in network.block_${block.entry.includes('/') ? 'cidrs' : 'ips'} covers it, and blocks win over allow lists`,
        );
    }
  }
  return warnings;
}
