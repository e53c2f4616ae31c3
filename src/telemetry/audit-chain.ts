/**
 * Tamper-evident audit: when enabled, every policy_decision, audit and security_event line
 * carries `seq` (1, 2, 3, ... per chain) and `prev_hash`, the SHA-256 (or, with a key,
 * HMAC-SHA256) of the exact previous chained stderr line. `mcp-ssh-orchestrator verify` walks
 * the chain and reports the first modified, deleted, inserted or reordered line; other lines
 * may be interleaved freely. The first line of a chain links to `chain_id`, a random id, so
 * two runs' logs concatenated are two chains, not a broken one.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { StampedEvent } from './events.js';
import { toStderrLine } from './stderr-line.js';

export const CHAINED_TYPES = new Set<StampedEvent['type']>(['policy_decision', 'audit', 'security_event']);

/** The digest linking one line to the next: over the line's exact UTF-8 text, without newline. */
export function chainDigest(line: string, key?: string): string {
  return (key === undefined ? createHash('sha256') : createHmac('sha256', key)).update(line, 'utf8').digest('hex');
}

/** The prev_hash of a chain's first line: the digest of its chain id. */
export function genesisDigest(chainId: string, key?: string): string {
  return chainDigest(`chain:${chainId}`, key);
}

export class AuditChain {
  readonly chainId = randomBytes(8).toString('hex');
  private seq = 0;
  private prev: string;

  constructor(private readonly key?: string) {
    this.prev = genesisDigest(this.chainId, key);
  }

  /** Adds chain fields to a chained event (in place) and advances the chain. */
  link(event: StampedEvent): void {
    if (!CHAINED_TYPES.has(event.type)) return;
    this.seq++;
    Object.assign(event, { chain_id: this.chainId, seq: this.seq, prev_hash: this.prev });
    this.prev = chainDigest(toStderrLine(event), this.key);
  }
}
