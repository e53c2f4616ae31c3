import { createHash } from 'node:crypto';

/** First 12 hex characters of the SHA-256 of the command, as the seed contract gives it. */
export function commandHash(command: string): string {
  return createHash('sha256').update(command, 'utf8').digest('hex').slice(0, 12);
}
