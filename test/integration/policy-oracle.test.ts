/**
 * The differential execution oracle for the command policy: what the remote shell actually
 * executed is what the policy decided.
 *
 * For every command, the engine decides. A denial must carry no `sent` text (nothing goes to
 * the host). An allowed decision's `sent` text is run on two real OpenSSH logins whose shells
 * (dash and bash) run under strace (test/helpers/traced-shell.ts); every program the shell
 * and its children execve'd (or tried to: a failed PATH lookup still means the shell tried to
 * run it) must be one of `decision.programs` (by basename), and every file opened for writing,
 * created, renamed, linked or removed must be one of `decision.writes` (after `~` and
 * lexical normalisation), except the terminal, the standard streams and a program's own
 * private temp files (see PRIVATE_TEMPS in traced-shell.ts).
 *
 * Cases: (a) a fixed table of hand-picked tricky commands, (b) commands generated from a shell
 * grammar (test/helpers/shell-grammar.ts) by fast-check, bounded by a time budget:
 * ORACLE_SECONDS (default 90) for the whole file. ORACLE_SEED replays a run (the seed is
 * printed). Needs root (it creates two test accounts), strace with working ptrace, sshd, dash
 * and bash; elsewhere it skips with one line, under CI=true it fails instead.
 */
import { readdirSync, rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyFileSchema } from '../../src/config/schema.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import { commandLine, MARK_PREFIX } from '../helpers/shell-grammar.js';
import { SSHD_PATH, startSshd, type TestSshd } from '../helpers/sshd.js';
import {
  prepareTracedAccounts,
  SCRATCH_DIR,
  SHELLS,
  TRACE_ENV,
  TRACED_ACCOUNTS,
  TracedShell,
  tracingUnavailable,
  violations,
  type ShellName,
  type TracedRun,
} from '../helpers/traced-shell.js';

const BUDGET_MS = Number(process.env.ORACLE_SECONDS ?? 90) * 1000;
const FILE_START = Date.now();
/** At least this many allowed commands must really run on each shell, or the oracle proved nothing. */
const MIN_EXECUTED = 100;
/** Commands of one fast-check run executed concurrently (each on both shells). */
const BATCH = 4;
/** Time to shrink a counterexample, on top of the budget. */
const SHRINK_MS = 60_000;

const unavailable = tracingUnavailable() ?? (SSHD_PATH === undefined ? 'OpenSSH sshd is not installed' : undefined);
if (unavailable !== undefined) {
  const line = `policy oracle: ${unavailable}`;
  if (process.env.CI === 'true') throw new Error(`${line} (CI=true: the oracle must run; see .ci/run)`);
  process.stderr.write(`policy oracle SKIPPED: ${unavailable}\n`);
}

const READ_ONLY_COMMANDS = [
  'echo *',
  'ls *',
  'cat /var/log/*',
  'grep *',
  'find *',
  'tail *',
  'head *',
  'sed -n *',
  'awk *',
  'tar -tf *',
  'git log*',
  'sort *',
  'wc *',
  'uniq *',
];

function buildPolicy(): { engine: PolicyEngine; scratchRule: boolean } {
  const base = {
    limits: { deny_substrings: ['rm -rf', 'reboot'] },
    rules: [
      { name: 'read-only', action: 'allow', commands: READ_ONLY_COMMANDS },
      { name: 'no-rm', action: 'deny', commands: ['rm *'] },
    ],
  };
  // Writes under the scratch directory, if the schema has write_paths (it is strict: an
  // unknown key is rejected, and then the oracle runs with the read-only policy alone).
  const scratch = { name: 'scratch', action: 'allow', commands: ['echo *'], write_paths: [`${SCRATCH_DIR}/*`] };
  try {
    return {
      engine: new PolicyEngine(policyFileSchema.parse({ ...base, rules: [scratch, ...base.rules] })),
      scratchRule: true,
    };
  } catch {
    return { engine: new PolicyEngine(policyFileSchema.parse(base)), scratchRule: false };
  }
}

const TARGET = { alias: 'oracle', tags: [] as string[] };

/** The decision fields the oracle relies on, checked at run time: missing ones fail the test. */
interface OracleDecision {
  allowed: boolean;
  rule: string;
  reason: string;
  sent?: string;
  programs: string[];
  writes: string[];
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function oracleView(decision: unknown, command: string): OracleDecision {
  const d = decision as Record<string, unknown>;
  const where = `decision for ${JSON.stringify(command)}: ${JSON.stringify(decision)}`;
  if (typeof d.allowed !== 'boolean' || typeof d.rule !== 'string' || typeof d.reason !== 'string') {
    throw new Error(`malformed ${where}`);
  }
  if (!d.allowed) {
    return {
      allowed: false,
      rule: d.rule,
      reason: d.reason,
      sent: d.sent as string | undefined,
      programs: [],
      writes: [],
    };
  }
  if (typeof d.sent !== 'string') throw new Error(`allowed but no 'sent' text: ${where}`);
  if (!isStringArray(d.programs)) throw new Error(`allowed but no 'programs' list: ${where}`);
  if (!isStringArray(d.writes)) throw new Error(`allowed but no 'writes' list: ${where}`);
  return { allowed: true, rule: d.rule, reason: d.reason, sent: d.sent, programs: d.programs, writes: d.writes };
}

const stats = {
  decided: 0,
  allowed: 0,
  executed: { dash: 0, bash: 0 } as Record<ShellName, number>,
  ms: { dash: 0, bash: 0 } as Record<ShellName, number>,
  timedOut: 0,
};

/** Paths of writes reported as violations (for the marker canary). */
const reportedWrites = new Set<string>();

function markers(): string[] {
  const name = MARK_PREFIX.slice('/tmp/'.length);
  return readdirSync('/tmp')
    .filter((f) => f.startsWith(name))
    .map((f) => `/tmp/${f}`);
}

/** The first few items, and how many more. */
function summarize(items: string[], max = 4): string {
  const shown = items.slice(0, max).join('; ');
  return items.length > max ? `${shown}; (+${items.length - max} more)` : shown;
}

function describeRun(run: TracedRun): string {
  const execs = run.trace.execs.map((e) => `${e.ok ? '' : '(failed) '}${e.path}`);
  const writes = run.trace.writes.map(
    (w) => `${w.program}:${w.path}${w.ok ? '' : ' (failed)'}${w.exempt ? ' [exempt]' : ''}`,
  );
  return [
    `    execs: ${summarize(
      execs.map((e) => JSON.stringify(e)),
      8,
    )}`,
    `    writes: ${summarize(
      writes.map((w) => JSON.stringify(w)),
      8,
    )}`,
    `    exit: ${run.exitCode ?? run.signal}${run.timedOut ? ' (timed out)' : ''}, stderr: ${JSON.stringify(run.stderr.slice(0, 300))}`,
    ...(run.trace.unparsed.length
      ? [`    unparsed trace lines: ${JSON.stringify(run.trace.unparsed.slice(0, 5))}`]
      : []),
  ].join('\n');
}

describe.skipIf(unavailable !== undefined)('policy oracle: the remote shell runs what the policy decided', () => {
  let sshd: TestSshd;
  const shells = {} as Record<ShellName, TracedShell>;
  const homes = {} as Record<ShellName, string>;
  let engine: PolicyEngine;
  let scratchRule = false;

  beforeAll(async () => {
    ({ engine, scratchRule } = buildPolicy());
    for (const m of markers()) rmSync(m, { recursive: true, force: true });
    const accounts = prepareTracedAccounts();
    sshd = await startSshd({ extraUsers: Object.values(TRACED_ACCOUNTS), acceptEnv: [TRACE_ENV] });
    for (const shell of SHELLS) {
      homes[shell] = accounts[shell].home;
      shells[shell] = await TracedShell.open(sshd, accounts[shell]);
    }
  });

  afterAll(async () => {
    for (const s of Object.values(shells)) s.close();
    await sshd?.stop();
    const dash = stats.ms.dash / Math.max(1, stats.executed.dash);
    const bash = stats.ms.bash / Math.max(1, stats.executed.bash);
    console.log(
      `policy oracle: ${stats.decided} commands decided, ${stats.allowed} allowed, executed dash ${stats.executed.dash} / bash ${stats.executed.bash} ` +
        `(mean ${dash.toFixed(0)} / ${bash.toFixed(0)} ms per run, ${stats.timedOut} timed out); scratch write rule ${scratchRule ? 'on' : 'rejected by the schema'}`,
    );
  });

  /** Decides `command`, runs it on both shells when allowed; returns the problems found (empty: fine). */
  async function check(command: string): Promise<string[]> {
    const decision = oracleView(engine.decide(TARGET, command), command);
    stats.decided++;
    if (!decision.allowed) {
      return decision.sent === undefined
        ? []
        : [`denied (${decision.rule}) but the decision carries sent=${JSON.stringify(decision.sent)}`];
    }
    stats.allowed++;
    const sent = decision.sent as string;
    const runs = await Promise.all(SHELLS.map((s) => shells[s].run(sent)));
    const problems: string[] = [];
    for (const run of runs) {
      stats.executed[run.shell]++;
      stats.ms[run.shell] += run.ms;
      if (run.timedOut) stats.timedOut++;
      const found = violations(decision, run.trace, homes[run.shell]);
      for (const w of run.trace.writes) if (w.exempt === undefined) reportedWrites.add(w.path);
      if (found.length === 0 && run.trace.unparsed.length === 0) continue;
      problems.push(
        [
          `  ${run.shell}: ${summarize(found.map((v) => v.detail)) || 'trace lines not understood'}`,
          describeRun(run),
        ].join('\n'),
      );
    }
    if (problems.length === 0) return [];
    return [
      [
        `command: ${JSON.stringify(command)}`,
        `sent:    ${JSON.stringify(sent)}`,
        `decided: allowed by ${decision.rule}; programs ${JSON.stringify(decision.programs)}, writes ${JSON.stringify(decision.writes)}`,
        ...problems,
      ].join('\n'),
    ];
  }

  const TRICKY: string[] = [
    // plain, allowed, harmless
    'echo hello',
    'ls -la sub',
    'cat /var/log/fontconfig.log',
    'grep -r alpha .',
    "find . -name '*.txt'",
    'tail -n 2 notes.txt',
    'head -n 1 notes.txt 2>&1',
    'wc -l notes.txt',
    'uniq -c notes.txt',
    'git log --oneline -1',
    'tar -tf a.tar',
    'sort -S 1 -T /tmp big.txt',
    // a second program behind an allowed one
    'find . -name notes.txt -exec grep alpha {} \\;',
    'find . -name notes.txt -exec id \\;',
    "find . -exec sh -c 'id' \\;",
    "sed -n '1e id' notes.txt",
    "sed -n 's/alpha/id/ep' notes.txt",
    `awk 'BEGIN{system("id")}'`,
    `awk 'BEGIN{print "id" | "sh"}'`,
    'tar -tf a.tar --checkpoint=1 --checkpoint-action=exec=id',
    'tar -tf a.tar --use-compress-program=id',
    'sort -S 1 -T /tmp --compress-program=id big.txt',
    'echo notes.txt | xargs grep alpha',
    'echo notes.txt | xargs id',
    "sh -c 'ls | wc -l'",
    "bash -c 'id'",
    'nice id',
    'env id',
    'timeout 5 id',
    // writes behind options
    `find . -fprint ${MARK_PREFIX}-find`,
    `sed -n 'w ${MARK_PREFIX}-sed' notes.txt`,
    'sed -n -i p notes.txt',
    `awk '{print > "${MARK_PREFIX}-awk"}' notes.txt`,
    `sort -o ${MARK_PREFIX}-sort notes.txt`,
    `git log --output=${MARK_PREFIX}-git -1`,
    `uniq notes.txt ${MARK_PREFIX}-uniq`,
    'find . -newer notes.txt -delete',
    // redirections
    `echo hi > ${SCRATCH_DIR}/out`,
    `echo hi > ${MARK_PREFIX}-redir`,
    `echo hi >> ~/../../tmp/oracle-mark-tilde`,
    `echo hi &> ${MARK_PREFIX}-amp`,
    `echo hi >& ${MARK_PREFIX}-ampgt`,
    `echo hi >| ${MARK_PREFIX}-clobber`,
    `cat <> ${MARK_PREFIX}-rw`,
    'cat < notes.txt',
    'grep alpha notes.txt > /dev/null',
    // substitutions and expansions
    'echo $(id)',
    'echo `id`',
    'echo ${a[$(id)]}',
    'echo $((1+2)) ${HOME@P} ${#HOME} {a,b} ~root',
    'echo $\'\\x69d\' $"x"',
    'echo "$(id)" \'$(id)\'',
    'cat /var/log/../../etc/hostname',
    'ls /???/i?',
    // lists, pipelines, compounds
    'ls; id',
    'ls && id',
    'ls || id',
    'ls | id',
    'ls |& id',
    'ls & id',
    'ls\nid',
    '! ls',
    '(id)',
    '{ id; }',
    `echo hi # it's a "comment"; id`,
    `echo 'it''s' ; touch ${MARK_PREFIX}-x`,
    // here-docs and here-strings
    'cat <<< "$(id)"',
    'cat <<EOF\n$(id)\nEOF',
    "cat <<'EOF'\n$(id)\nEOF",
    'sh <<EOF\nid\nEOF',
    // blanks the shell does not split on
    'echo\u00a0id',
    'ls\u2028id',
    'echo hi\u00a0>\u00a0/tmp/oracle-mark-nbsp',
    // denied outright
    'rm -rf /tmp/oracle-scratch',
    `rm ${MARK_PREFIX}-x`,
    'reboot',
  ];

  it(`fixed table: ${TRICKY.length} tricky commands`, async () => {
    const problems: string[] = [];
    for (const command of TRICKY) problems.push(...(await check(command)));
    expect(problems, `\n${problems.join('\n\n')}\n`).toEqual([]);
  }, 120_000);

  it(
    'generated commands (fast-check shell grammar, time-bounded)',
    async () => {
      const seed = Number(process.env.ORACLE_SEED ?? Date.now() % 2 ** 31);
      const remaining = Math.max(5_000, BUDGET_MS - (Date.now() - FILE_START) - 5_000);
      const before = { ...stats.executed };
      console.log(
        `policy oracle: fast-check seed ${seed} (replay: ORACLE_SEED=${seed}), budget ${(remaining / 1000).toFixed(0)} s`,
      );
      // Phase 1 searches within the budget and stops at the first failure; phase 2 replays that
      // failure (seed + path) and shrinks it with its own time allowance, so a failure found
      // late in the budget still shrinks to a readable counterexample.
      const property = fc.asyncProperty(fc.array(commandLine, { minLength: 1, maxLength: BATCH }), async (commands) => {
        // Only the failing commands of a batch are reported (the batch itself may shrink to more than one).
        const problems = (await Promise.all(commands.map(check))).flat();
        if (problems.length > 0) throw new Error(`\n${problems.join('\n\n')}\n`);
      });
      const search = await fc.check(property, {
        seed,
        numRuns: 1_000_000,
        interruptAfterTimeLimit: remaining,
        markInterruptAsFailure: false,
        endOnFailure: true,
      });
      console.log(`policy oracle: ${search.numRuns} property runs (up to ${BATCH} commands each)`);
      if (search.failed) {
        await fc.assert(property, {
          seed: search.seed,
          path: search.counterexamplePath ?? undefined,
          interruptAfterTimeLimit: SHRINK_MS,
          markInterruptAsFailure: false,
        });
        // The replay did not fail again (a flaky run): report the original failure.
        throw new Error(`seed ${search.seed} path ${search.counterexamplePath}: ${String(search.errorInstance)}`);
      }
      for (const shell of SHELLS) {
        expect(stats.executed[shell] - before[shell], `allowed commands executed on ${shell}`).toBeGreaterThanOrEqual(
          MIN_EXECUTED,
        );
      }
    },
    BUDGET_MS + SHRINK_MS + 120_000,
  );

  it('canary: every marker file that appeared was seen by the tracer', () => {
    // Payloads write /tmp/oracle-mark-*; one present but not reported would mean a write the
    // tracer missed (a process outside the traced tree, a syscall not traced).
    const unreported = markers().filter((m) => !reportedWrites.has(m));
    expect(unreported).toEqual([]);
  });
});
