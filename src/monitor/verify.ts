/**
 * `mcp-ssh-orchestrator verify`: checks the tamper-evident audit chain (see
 * src/telemetry/audit-chain.ts) and names the first line that was modified, deleted, inserted,
 * reordered or cut off.
 *
 * With --audit-chain every policy_decision, audit and security_event line carries `chain_id`,
 * `seq` (1, 2, ... per chain) and `prev_hash`, the SHA-256 (HMAC-SHA256 with a key) of the
 * exact text of the previous chained line of the same chain, or of `chain:<chain_id>` for the
 * first. Several chains (one per server run) may be concatenated or interleaved, with any
 * number of other lines between them.
 *
 * The walk is streaming with bounded memory: per chain it keeps a window of recent lines
 * (to recognise a line that claims an earlier predecessor) and, once a link breaks, reads a
 * little further (to tell a modified line from an inserted, reordered or deleted one).
 */
import { parseArgs } from 'node:util';
import { chainDigest, genesisDigest } from '../telemetry/audit-chain.js';
import { keyFromEnv, runCommand, writeText, type CommandIo } from './cli-util.js';
import {
  checkReadable,
  countLine,
  emptyStats,
  formatRef,
  fromStrings,
  parseLines,
  readInputs,
  SkewTracker,
  unknownTypeCount,
  type InputStats,
  type LineRef,
  type ParsedLine,
} from './input.js';

/** Line types the chain covers. */
export const CHAINED_LINE_TYPES: ReadonlySet<string> = new Set(['policy_decision', 'audit', 'security_event']);

export type ProblemKind =
  /** A chained line's text changed after it was written. */
  | 'modified'
  /** Chained lines are missing. */
  | 'deleted'
  /** A line that was not written by the server in this place (forged, replayed or duplicated). */
  | 'inserted'
  /** Chained lines are out of their written order. */
  | 'reordered'
  /** A chained line was cut off (the rest of it is missing). */
  | 'truncated'
  /** A policy_decision, audit or security_event line without chain fields in a chained log. */
  | 'unchained'
  /** A chain links with plain SHA-256 although a key was given: forged, or written without the key. */
  | 'unkeyed_chain'
  /** No line of a chain links under the key given (or without one): the wrong key, not tampering. */
  | 'key_mismatch';

export interface Problem {
  kind: ProblemKind;
  /** The first line that is wrong. */
  file: string;
  line: number;
  chain_id?: string;
  seq?: number;
  /** The line where the problem showed, when it is not the bad line itself. */
  detected_at?: LineRef;
  message: string;
}

export interface ChainSummary {
  chain_id: string;
  first: LineRef;
  last: LineRef;
  lines: number;
  first_seq: number;
  last_seq: number;
  /** Digest of the last line: record it elsewhere to detect later removal of the chain's tail. */
  head: string;
  broken_links: number;
  status: 'intact' | 'tampered' | 'unverifiable';
}

export interface VerifyReport {
  verdict: 'intact' | 'tampered' | 'no_chain' | 'unverifiable';
  /** How links were checked. */
  digest: 'sha256' | 'hmac-sha256';
  chains: ChainSummary[];
  chained_lines: number;
  /** Policy, audit and security lines without chain fields (a problem in a chained log). */
  unchained_lines: number;
  first_problem?: Problem;
  /** The first problem of each chain, cut-off and unchained lines; at most MAX_PROBLEMS. */
  problems: Problem[];
  problems_total: number;
  input: InputStats;
  clock_skew: ReturnType<SkewTracker['toJSON']>;
}

export interface VerifyOptions {
  /** HMAC key the chain was written with (MCP_SSH_AUDIT_CHAIN_KEY); plain SHA-256 without. */
  key?: string;
  /** Accept chains whose first line here is not seq 1 (a rotated log read without its older files). */
  allowPartial?: boolean;
  /** Accept policy/audit/security lines without chain fields (logs mixing chained and unchained runs). */
  allowUnchained?: boolean;
  /** File name used in line references when verifying strings (default `<input>`). */
  file?: string;
}

interface Entry {
  ref: LineRef;
  pos: number;
  seq: number;
  prev: string;
  digest: string;
}

interface Chain {
  id: string;
  genesis: string;
  first: Entry;
  last: Entry;
  lines: number;
  /** Recent entries in file order: the window for backward and forward lookups. */
  window: Entry[];
  byDigest: Map<string, Entry>;
  brokenLinks: number;
  okLinks: number;
  /** The first broken link, waiting for lookahead before it is classified. */
  pending: Entry | undefined;
  problem: Problem | undefined;
}

/** Entries kept behind the newest line of a chain. */
const WINDOW_BACK = 1024;
/** Chained lines read past a broken link before it is classified. */
const LOOKAHEAD = 256;
const MAX_PROBLEMS = 100;
const HEX64 = /^[0-9a-f]{64}$/;

/** The reason a line is part of the chain, or why its chain fields are unusable. */
function chainFields(
  rec: Record<string, unknown>,
): { chainId: string; seq: number; prev: string } | { malformed: string } | undefined {
  const { chain_id: chainId, seq, prev_hash: prev } = rec;
  if (chainId === undefined && seq === undefined && prev === undefined) return undefined;
  if (typeof chainId !== 'string' || chainId === '') return { malformed: 'chain_id is missing or not a string' };
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1) return { malformed: 'seq is not an integer ≥ 1' };
  if (typeof prev !== 'string' || !HEX64.test(prev)) return { malformed: 'prev_hash is not 64 hex digits' };
  return { chainId, seq, prev };
}

/** A cut-off chained line: what is left starts like one of the chained types, or names a chain. */
const CUT_CHAINED = /^\{"(?:type":"(?:policy_decision|audit)"|level":"error","kind":"security_audit")/;
const CUT_CHAIN_ID = /"chain_id":"([^"]+)"/;
const CUT_SEQ = /"seq":(\d+)/;

export class ChainVerifier {
  private readonly chains = new Map<string, Chain>();
  /** Problems found, with the global position of their bad line (for ordering). */
  private readonly found: Array<{ pos: number; problem: Problem }> = [];
  private chained = 0;
  private unchained = 0;
  /** Held back until the end: whether they are problems depends on the log having chains. */
  private readonly unchainedProblems: Array<{ pos: number; problem: Problem }> = [];
  private readonly truncatedProblems: Array<{ pos: number; problem: Problem }> = [];
  readonly stats: InputStats = emptyStats();
  readonly skew = new SkewTracker();

  constructor(private readonly opts: VerifyOptions = {}) {}

  private digest(text: string): string {
    return chainDigest(text, this.opts.key);
  }

  push(p: ParsedLine): void {
    countLine(this.stats, p);
    if (p.kind === 'noise') {
      if (p.reason === 'truncated' || p.reason === 'invalid_json') this.noteCut(p.text, p.ref, p.pos);
      return;
    }
    if (p.kind !== 'event') return;
    this.skew.observe(p.record.ts, p.ref);
    const fields = chainFields(p.record);
    if (fields === undefined) {
      if (p.type !== undefined && CHAINED_LINE_TYPES.has(p.type)) {
        this.unchained++;
        if (this.unchainedProblems.length < MAX_PROBLEMS)
          this.unchainedProblems.push({
            pos: p.pos,
            problem: {
              kind: 'unchained',
              ...p.ref,
              message: `${formatRef(p.ref)}: ${p.type} line without chain fields: inserted, or written by a server without --audit-chain`,
            },
          });
      }
      return;
    }
    if ('malformed' in fields) {
      this.add(p.pos, {
        kind: 'modified',
        ...p.ref,
        message: `${formatRef(p.ref)}: chain fields altered: ${fields.malformed}`,
      });
      return;
    }
    this.chained++;
    this.link(
      { ref: p.ref, pos: p.pos, seq: fields.seq, prev: fields.prev, digest: this.digest(p.text) },
      fields.chainId,
    );
  }

  private noteCut(text: string, ref: LineRef, pos: number): void {
    const chainId = CUT_CHAIN_ID.exec(text)?.[1];
    if (chainId === undefined && !CUT_CHAINED.test(text)) return;
    const seq = CUT_SEQ.exec(text)?.[1];
    if (this.truncatedProblems.length >= MAX_PROBLEMS) return;
    this.truncatedProblems.push({
      pos,
      problem: {
        kind: 'truncated',
        ...ref,
        ...(chainId !== undefined ? { chain_id: chainId } : {}),
        ...(seq !== undefined && chainId !== undefined ? { seq: Number(seq) } : {}),
        message: `${formatRef(ref)}: a chained line was cut off (${text.length} characters left)`,
      },
    });
  }

  private add(pos: number, problem: Problem): void {
    this.found.push({ pos, problem });
  }

  private link(e: Entry, chainId: string): void {
    let c = this.chains.get(chainId);
    if (!c) {
      c = {
        id: chainId,
        genesis: genesisDigest(chainId, this.opts.key),
        first: e,
        last: e,
        lines: 1,
        window: [e],
        byDigest: new Map([[e.digest, e]]),
        brokenLinks: 0,
        okLinks: 0,
        pending: undefined,
        problem: undefined,
      };
      this.chains.set(chainId, c);
      if ((e.prev !== c.genesis || e.seq !== 1) && !(this.opts.allowPartial && e.seq > 1 && e.prev !== c.genesis)) {
        c.brokenLinks++;
        c.pending = e;
      }
      return;
    }
    const a = c.last;
    if (e.prev === a.digest && e.seq === a.seq + 1) c.okLinks++;
    else {
      c.brokenLinks++;
      if (c.problem === undefined && c.pending === undefined) c.pending = e;
    }
    c.last = e;
    c.lines++;
    c.window.push(e);
    if (!c.byDigest.has(e.digest)) c.byDigest.set(e.digest, e);
    if (c.pending !== undefined) {
      if (c.window.length - c.window.indexOf(c.pending) > LOOKAHEAD) this.classify(c);
    } else if (c.window.length > 2 * WINDOW_BACK) {
      for (const old of c.window.splice(0, c.window.length - WINDOW_BACK)) {
        if (c.byDigest.get(old.digest) === old) c.byDigest.delete(old.digest);
      }
    }
  }

  /** Names the first bad line behind a chain's first broken link. */
  private classify(c: Chain): void {
    const b = c.pending;
    if (!b) return;
    c.pending = undefined;
    const i = c.window.indexOf(b);
    const a = i > 0 ? c.window[i - 1] : undefined;
    const next = c.window[i + 1];
    const at = (x: Entry): string => `line ${formatRef(x.ref)} (seq ${x.seq})`;
    const report = (kind: ProblemKind, bad: Entry, message: string, detected?: Entry): void => {
      c.problem = {
        kind,
        ...bad.ref,
        chain_id: c.id,
        seq: bad.seq,
        ...(detected && detected !== bad ? { detected_at: detected.ref } : {}),
        message: `chain ${c.id}: ${message}`,
      };
      this.add(bad.pos, c.problem);
    };
    const pred = b.prev === c.genesis ? 'genesis' : c.byDigest.get(b.prev);

    // The line's predecessor comes later in the file: lines out of their written order.
    if (pred !== undefined && pred !== 'genesis' && pred.pos > b.pos) {
      return report('reordered', b, `${at(b)} is out of order: it follows ${at(pred)}, which comes later in the file`);
    }

    if (b === c.first) {
      if (pred === 'genesis') return report('modified', b, `${at(b)} starts the chain but its seq was altered`);
      const other = this.foreignPredecessor(c, b);
      if (other) {
        return report(
          'modified',
          b,
          `${at(b)}: chain_id altered: the line follows ${at(other.entry)} of chain ${other.chain}`,
        );
      }
      if (b.seq === 1) return this.classifyStart(c, b, report, at);
      return report(
        'deleted',
        b,
        `the chain starts at ${at(b)}: the ${b.seq - 1} chained line(s) before it are missing ` +
          `(deleted, or the log was rotated: give the older files first, or pass --partial)`,
      );
    }
    if (!a) return report('modified', b, `${at(b)} does not link to the chain`);

    if (pred === a) {
      return report('modified', b, `${at(b)}: seq altered: expected ${a.seq + 1} after ${at(a)}`);
    }
    if (pred !== undefined && pred !== 'genesis') {
      // b claims a predecessor earlier than a: two lines follow the same one, one of them not genuine.
      const sibling = c.window[c.window.indexOf(pred) + 1];
      if (sibling && sibling.digest === b.digest) {
        return report('inserted', b, `${at(b)} was inserted: a duplicate of ${at(sibling)}`);
      }
      if (next && next.prev === b.digest && sibling && sibling !== b) {
        const count = i - c.window.indexOf(pred) - 1;
        return report(
          'inserted',
          sibling,
          `${count} chained line(s) from ${at(sibling)} to ${at(a)} were inserted: ${at(b)} links directly to ${at(pred)}`,
          b,
        );
      }
      return report(
        'inserted',
        b,
        `${at(b)} was inserted: it claims to follow ${at(pred)}, which ${sibling ? at(sibling) : 'another line'} already follows`,
      );
    }
    if (pred === 'genesis') {
      return report('inserted', b, `${at(b)} claims to start the chain, which started at ${at(c.first)}`);
    }
    // The predecessor b names is nowhere in sight.
    if (next && next.prev === a.digest) {
      return report('inserted', b, `${at(b)} was inserted: the next chained line ${at(next)} links to ${at(a)}`);
    }
    if (b.seq === a.seq + 1) {
      if (next && next.prev === b.digest) {
        return report(
          'modified',
          a,
          `${at(a)} was modified: it no longer hashes to the prev_hash ${at(b)} recorded`,
          b,
        );
      }
      if (!next) {
        return report(
          'modified',
          a,
          `${at(a)} was modified (or the prev_hash of ${at(b)}, the last chained line, was altered)`,
          b,
        );
      }
      return report(
        'modified',
        b,
        `${at(b)} was modified: its prev_hash does not match ${at(a)} and ${at(next)} does not link to it ` +
          `(${at(a)} may have been modified too)`,
      );
    }
    if (b.seq > a.seq + 1) {
      const n = b.seq - a.seq - 1;
      const range = n === 1 ? `seq ${a.seq + 1}` : `seq ${a.seq + 1}–${b.seq - 1}`;
      return report('deleted', b, `${n} chained line(s) (${range}) missing between ${at(a)} and ${at(b)}`);
    }
    if (b.seq === a.seq) {
      return report('inserted', b, `${at(b)} repeats the seq of ${at(a)} and links to neither`);
    }
    return report(
      'reordered',
      b,
      `${at(b)} comes after ${at(a)}: seq goes backwards (moved, or replayed from elsewhere)`,
    );
  }

  /** A first line whose prev_hash does not match the chain start: modification, or the wrong key. */
  private classifyStart(
    c: Chain,
    b: Entry,
    report: (kind: ProblemKind, bad: Entry, message: string) => void,
    at: (x: Entry) => string,
  ): void {
    const keyed = this.opts.key !== undefined;
    if (keyed && b.prev === genesisDigest(c.id)) {
      return report(
        'unkeyed_chain',
        b,
        `the chain is linked with plain SHA-256, not the HMAC key given: forged by someone without the key, ` +
          `or written by a server without MCP_SSH_AUDIT_CHAIN_KEY`,
      );
    }
    // Nothing in the chain links: the digest itself is wrong, not a line.
    if (c.okLinks === 0 && c.lines > 1 && consecutive(c.window)) {
      return report(
        'key_mismatch',
        b,
        keyed
          ? 'no line of this chain links under the key given: wrong key?'
          : 'no line of this chain links with plain SHA-256: if the server ran with MCP_SSH_AUDIT_CHAIN_KEY, pass --key-env',
      );
    }
    return report('modified', b, `${at(b)} starts the chain but its prev_hash or chain_id was altered`);
  }

  private foreignPredecessor(c: Chain, b: Entry): { chain: string; entry: Entry } | undefined {
    for (const other of this.chains.values()) {
      if (other === c) continue;
      const entry = other.byDigest.get(b.prev);
      if (entry) return { chain: other.id, entry };
    }
    return undefined;
  }

  finish(): VerifyReport {
    for (const c of this.chains.values()) this.classify(c);
    const hasChains = this.chains.size > 0;
    let uncounted = 0;
    if (hasChains) {
      this.found.push(...this.truncatedProblems);
      if (!this.opts.allowUnchained) {
        this.found.push(...this.unchainedProblems);
        uncounted = this.unchained - this.unchainedProblems.length;
      }
    }
    // Problems are found per chain; the first is the one on the earliest line of the input.
    const problems = this.found.sort((x, y) => x.pos - y.pos).map((f) => f.problem);
    const first = problems[0];
    const chains = [...this.chains.values()].map((c): ChainSummary => ({
      chain_id: c.id,
      first: c.first.ref,
      last: c.last.ref,
      lines: c.lines,
      first_seq: c.first.seq,
      last_seq: c.last.seq,
      head: c.last.digest,
      broken_links: c.brokenLinks,
      status: c.problem ? (c.problem.kind === 'key_mismatch' ? 'unverifiable' : 'tampered') : 'intact',
    }));
    const onlyKeyMismatch = problems.length > 0 && problems.every((p) => p.kind === 'key_mismatch');
    const verdict: VerifyReport['verdict'] = !hasChains
      ? problems.length > 0
        ? 'tampered'
        : 'no_chain'
      : problems.length === 0
        ? 'intact'
        : onlyKeyMismatch
          ? 'unverifiable'
          : 'tampered';
    return {
      verdict,
      digest: this.opts.key === undefined ? 'sha256' : 'hmac-sha256',
      chains,
      chained_lines: this.chained,
      unchained_lines: this.unchained,
      ...(first ? { first_problem: first } : {}),
      problems: problems.slice(0, MAX_PROBLEMS),
      problems_total: problems.length + uncounted,
      input: this.stats,
      clock_skew: this.skew.toJSON(),
    };
  }
}

function consecutive(entries: Entry[]): boolean {
  return entries.every((e, i) => i === 0 || e.seq === (entries[i - 1]?.seq ?? 0) + 1);
}

/** Verifies parsed lines (see parseLines). */
export async function verifyParsed(lines: AsyncIterable<ParsedLine>, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const v = new ChainVerifier(opts);
  for await (const p of lines) v.push(p);
  return v.finish();
}

/**
 * Walks every chain in `lines` (one string per line, or whole chunks of lines; container
 * log wrappers are removed) and reports the first modified, deleted, inserted, reordered or
 * cut-off line, with counts of everything that was not an audit line.
 */
export function verifyChain(
  lines: AsyncIterable<string> | Iterable<string>,
  opts: VerifyOptions = {},
): Promise<VerifyReport> {
  return verifyParsed(parseLines(fromStrings(lines, opts.file)), opts);
}

/** One line per chain and per problem, for a human. */
export function formatVerifyReport(r: VerifyReport): string {
  const out: string[] = [];
  const title = {
    intact: 'INTACT',
    tampered: 'TAMPERED',
    no_chain: 'NO CHAIN',
    unverifiable: 'UNVERIFIABLE',
  }[r.verdict];
  out.push(`audit chain: ${title} (${r.digest})`);
  if (r.first_problem) out.push(`first problem: ${r.first_problem.kind} at ${formatRef(r.first_problem)}`);
  if (r.first_problem) out.push(`  ${r.first_problem.message}`);
  if (r.verdict === 'no_chain') {
    out.push('no chained line found: was the server started with --audit-chain (or MCP_SSH_AUDIT_CHAIN=1)?');
  }
  for (const c of r.chains) {
    out.push(
      `chain ${c.chain_id}: ${c.status}, ${c.lines} line(s), seq ${c.first_seq}–${c.last_seq}, ` +
        `${formatRef(c.first)} to ${formatRef(c.last)}${c.broken_links ? `, ${c.broken_links} broken link(s)` : ''}, head ${c.head}`,
    );
  }
  const others = r.problems.filter((p) => p !== r.first_problem);
  for (const p of others.slice(0, 10)) out.push(`also: ${p.kind} at ${formatRef(p)}: ${p.message}`);
  if (r.problems_total > 1 + Math.min(10, others.length)) {
    out.push(`... ${r.problems_total - 1 - Math.min(10, others.length)} more problem(s) (--json lists up to 100)`);
  }
  out.push(inputSummary(r.input, r.clock_skew));
  if (r.unchained_lines > 0) out.push(`${r.unchained_lines} policy/audit/security line(s) without chain fields`);
  return out.join('\n') + '\n';
}

export function inputSummary(s: InputStats, skew: { count: number; max_backwards_seconds: number }): string {
  const noise = Object.entries(s.noise)
    .filter(([k, v]) => k !== 'total' && v > 0)
    .map(([k, v]) => `${v} ${k.replace('_', '-')}`)
    .join(', ');
  const unknown = unknownTypeCount(s);
  const parts = [`${s.lines} line(s) read, ${s.events} event(s)`];
  parts.push(s.noise.total ? `${s.noise.total} noise (${noise})` : 'no noise');
  if (unknown) parts.push(`${unknown} of unknown type (${Object.keys(s.unknown_types).join(', ')})`);
  if (skew.count) parts.push(`clock went backwards ${skew.count} time(s), by up to ${skew.max_backwards_seconds} s`);
  return parts.join('; ');
}

export const VERIFY_HELP = `Usage: mcp-ssh-orchestrator verify [FILE...] [options]
Checks the tamper-evident audit chain (--audit-chain) of stderr logs and names the first line
that was modified, deleted, inserted, reordered or cut off. Reads stdin when no FILE is given
(or for FILE "-"); .gz files, Docker json-file and CRI container logs are read as they are.
Give rotated files oldest first: a chain may continue from one file into the next.

Options:
  --key-env NAME     HMAC key from environment variable NAME (default: MCP_SSH_AUDIT_CHAIN_KEY
                     when it is set); without a key the chain is checked with plain SHA-256
  --partial          accept chains that start after seq 1 (the older part of the log is elsewhere)
  --allow-unchained  accept policy/audit/security lines without chain fields
  --json             print the report as JSON
  -h, --help         show this help

Exit status: 0 every chain intact; 1 tampered, cut off, or no chained line at all;
             2 usage or read error, or the key does not fit the log.
`;

/** `mcp-ssh-orchestrator verify [FILE...] [--key-env NAME] [--json]`: exit 0 intact, 1 tampered, 2 usage/IO. */
export function runVerifyCommand(argv: string[], io: CommandIo): Promise<number> {
  return runCommand(io, 'verify', async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'key-env': { type: 'string' },
        partial: { type: 'boolean' },
        'allow-unchained': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      await writeText(io.stdout, VERIFY_HELP);
      return 0;
    }
    const key = keyFromEnv(values['key-env'], io.env ?? process.env);
    await checkReadable(positionals);
    const report = await verifyParsed(parseLines(readInputs(positionals, io.stdin)), {
      key,
      allowPartial: values.partial === true,
      allowUnchained: values['allow-unchained'] === true,
    });
    await writeText(io.stdout, values.json ? `${JSON.stringify(report)}\n` : formatVerifyReport(report));
    return verifyExitCode(report);
  });
}

export function verifyExitCode(r: VerifyReport): number {
  switch (r.verdict) {
    case 'intact':
      return 0;
    case 'unverifiable':
      return 2;
    default:
      return 1;
  }
}
