/**
 * The decision: one command, one host, against the compiled policy. Parse → decide → print:
 *
 *   1. `deny_substrings` against the text as sent by the client;
 *   2. the text is parsed into the subset of shell/parse.ts; a construct outside it is denied
 *      as `unsupported_syntax:<construct>`, unless an allow rule lists it in `allow_syntax`
 *      (then the text is sent unchecked, as written, and the decision says so);
 *   3. every simple command becomes a node, and so does every command a program runs on its
 *      behalf (programs/: wrappers like `sudo`/`nice`, `find -exec`, `xargs`, `sh -c` scripts,
 *      parsed again), recursively;
 *   4. deny_substrings and deny rules against every node's text (case folded; caught only
 *      after parsing → `bypass`);
 *   5. every node must be admitted by an allow rule. A top-level command by any matching glob
 *      (v1 semantics); a nested one only by a rule that names its program literally — matching
 *      the nested command on its own (`touch /tmp/*`) or a command around it with the program
 *      spelled out before the first wildcard (`sudo systemctl restart *`). A wildcard never
 *      admits a program;
 *   6. what a node does besides running: output redirections and write options need a path the
 *      admitting rule's `write_paths` allows; exec-capable features, programs reading their
 *      program from stdin and arguments the tables cannot read need `allow_exec` on a rule that
 *      names the program literally;
 *   7. the text sent is the print of the checked tree (with `sh -c` scripts re-printed too).
 */
import { resolveDotDot, hasDotDot } from './paths.js';
import { effectsOf } from './programs/index.js';
import type { Arg, Effect } from './programs/types.js';
import type { BuiltinRuleCode, RuleRef } from './rule-codes.js';
import { appliesTo, denySubstringsFor, type CompiledPolicy, type CompiledRule, type PolicyTarget } from './rules.js';
import { matchesArgv } from './argv-rules.js';
import type { Glob } from './glob.js';
import { displayValue, literalValue, literalWord, type Call, type Script, type Word } from './shell/ast.js';
import { parseScript } from './shell/parse.js';
import { printCall, printScript, printWord, quote } from './shell/print.js';

export interface BypassInfo {
  original_command: string;
  normalized_command: string;
  blocked_pattern: string;
  /** The caught command's words after quote removal, so telemetry can redact them one by one. */
  words?: string[];
}

export interface PolicyDecision {
  allowed: boolean;
  /** The deciding rule names (allowed: every admitting rule, comma-separated) or a built-in code. */
  rule: string;
  /** The same, structured: operator rules by name, built-in codes as such. */
  rules: RuleRef[];
  /** Sentences saying why, naming the command and pattern. */
  reason: string;
  /** The canonical text of each top-level command checked. */
  segments: string[];
  /** Allowed: the exact text the SSH layer sends (the print of the checked tree). */
  sent?: string;
  /** argv[0] of every command the decision admits, nested ones included. */
  programs: string[];
  /** Every file path the decision admits writing, as written. */
  writes: string[];
  /** Allowed by a rule's `allow_syntax`: sent as written, not checked beyond its text. */
  unchecked?: true;
  /** Set when the command was caught only after parsing (quotes, escapes, wrappers, nesting). */
  bypass?: BypassInfo;
}

/** Commands inside commands are followed down to this depth. */
const MAX_DEPTH = 8;
/** Writing to these is never a file write. */
const HARMLESS_WRITES = new Set(['/dev/null', '/dev/stdout', '/dev/stderr', '/dev/fd/1', '/dev/fd/2']);

interface Problem {
  code: BuiltinRuleCode;
  reason: string;
}

/** One command the shell will run: top-level, in an `sh -c` script, or run by a wrapper. */
interface Node {
  /** Printed words: assignments, argv, redirections. The allow text is their join. */
  words: string[];
  /** Index in `words` of argv[0]. */
  programIndex: number;
  argv: Arg[];
  /** Quote-removed text for deny checks, and its words. */
  plain: string;
  plainWords: string[];
  /** The command that runs this one through its argv (wrapper, `find -exec`), for admission. */
  parent: Node | undefined;
  /** How it is run, for reasons: `sudo`, `find -exec`, `sh -c`. */
  via: string | undefined;
  /** Run by xargs (directly or through wrappers): words of it come from xargs' input. */
  fromInput: boolean;
  effects: Effect[];
  /** Output-redirection targets. */
  redirWrites: Arg[];
  /** Source text of the command as the client wrote it (nodes run by a wrapper inherit their parent's). */
  raw: string;
  problem: Problem | undefined;
}

interface Admission {
  rule: CompiledRule;
  /** The rule names this node's program before its first wildcard. */
  literal: boolean;
}

/** Rewrites of `sh -c` script words, per call: argv index → [new word, words replaced]. */
type Rewrites = Map<Call, Map<number, { word: Word; span: number }>>;

interface Context {
  target: PolicyTarget;
  policy: CompiledPolicy;
  nodes: Node[];
  rewrites: Rewrites;
  /** Arg → the call and index it came from, to rewrite script words of nested nodes. */
  origin: WeakMap<Arg, { call: Call; index: number }>;
  /** Printed form of args built from words. */
  printed: WeakMap<Arg, string>;
}

export function decide(policy: CompiledPolicy, target: PolicyTarget, command: string): PolicyDecision {
  if (command.trim() === '') return denied('empty_command', 'The command is empty.', []);
  for (const deny of denySubstringsFor(policy, target)) {
    if (deny.matches(command))
      return denied('deny_substrings', `The command contains the denied pattern '${deny.pattern}'.`, []);
  }
  const parsed = parseScript(command);
  if (!parsed.ok) return refuseOrPassThrough(policy, target, command, parsed.error);
  if (parsed.script.stmts.length === 0)
    return denied('empty_command', 'The command contains no command, only separators and comments.', []);

  const ctx: Context = {
    target,
    policy,
    nodes: [],
    rewrites: new Map(),
    origin: new WeakMap(),
    printed: new WeakMap(),
  };
  const topLevel = callsOf(parsed.script).map((call) => {
    const node = nodeFromCall(ctx, call, command.slice(call.pos, call.end), 0);
    return node;
  });
  const segments = topLevel.map((n) => n.words.join(' '));
  const sent = printRewritten(parsed.script, ctx.rewrites);

  const denial = denyChecks(ctx, command, sent, segments);
  if (denial !== undefined) return denial;
  const setThenRead = variableSetAndExpanded(ctx.nodes);
  if (setThenRead !== undefined) return denied('unsupported_syntax:assignment', setThenRead, segments);

  const admitting: string[] = [];
  const programs: string[] = [];
  const writes: string[] = [];
  // Refusals no rule can lift (a computed program, an unreadable nested script) come first.
  const problem = ctx.nodes.find((n) => n.problem !== undefined)?.problem;
  if (problem !== undefined) return denied(problem.code, problem.reason, segments);
  // Version 2: each command takes the first rule that matches it, allow or deny.
  const ordered = policy.version === 2 ? new Map(ctx.nodes.map((n) => [n, inOrder(ctx, n)])) : undefined;
  if (ordered) {
    for (const [node, outcome] of ordered) {
      if (outcome.kind === 'denied') return orderDenial(node, outcome, command, segments);
    }
  }
  const admissionsOf = (node: Node): Admission[] => {
    const outcome = ordered?.get(node);
    return outcome === undefined ? admit(ctx, node) : outcome.kind === 'admitted' ? [outcome.admission] : [];
  };
  // A program read from stdin (or built from xargs' input) is denied whatever else holds,
  // unless a rule names it literally with allow_exec: say so before anything less specific.
  for (const node of ctx.nodes) {
    const stdin = node.effects.find(
      (e) => e.kind === 'stdin_program' || (node.fromInput && (e.kind === 'exec' || e.kind === 'opaque')),
    );
    if (stdin === undefined || !('feature' in stdin)) continue;
    if (admissionsOf(node).some((a) => a.literal && a.rule.allowExec)) continue;
    return denied(
      'shell_from_stdin',
      `'${node.words.join(' ')}'${node.via ? ` (run by ${node.via})` : ''} takes the program it runs from stdin (${stdin.feature}); no policy can see that program. A rule naming it with allow_exec: true would allow it on '${target.alias}'.`,
      segments,
    );
  }
  for (const node of ctx.nodes) {
    const admissions = admissionsOf(node);
    const first = admissions[0];
    if (first === undefined) {
      if (ordered && isProgramPath(node))
        return denied(
          'program_path',
          `'${node.words.join(' ')}' runs the program '${node.argv[0]?.value}' by its path; a version 2 policy admits a program given by path only by a rule naming that path (binary or simple_binaries).`,
          segments,
        );
      return denied('default_deny', notAdmittedReason(node, target), segments);
    }
    const refusal = checkEffects(node, admissions, writes);
    if (refusal !== undefined) return denied(refusal.code, refusal.reason, segments);
    if (!admitting.includes(first.rule.name)) admitting.push(first.rule.name);
    programs.push(node.argv[0]?.value ?? '');
  }
  const nested = ctx.nodes.length - topLevel.length;
  const reason =
    (topLevel.length === 1
      ? `'${segments[0]}' is allowed by rule '${admitting[0]}'.`
      : `All ${topLevel.length} commands are allowed (rules: ${admitting.join(', ')}).`) +
    (nested > 0 ? ` ${nested} command${nested === 1 ? '' : 's'} run by other commands checked too.` : '');
  return {
    allowed: true,
    rule: admitting.join(', '),
    rules: admitting.map((name) => ({ kind: 'rule', name })),
    reason,
    segments,
    sent,
    programs,
    writes,
  };
}

function denied(code: BuiltinRuleCode | { rule: string }, reason: string, segments: string[]): PolicyDecision {
  const rule = typeof code === 'string' ? code : code.rule;
  const ref: RuleRef = typeof code === 'string' ? { kind: 'builtin', code } : { kind: 'rule', name: code.rule };
  return { allowed: false, rule, rules: [ref], reason, segments, programs: [], writes: [] };
}

/** Outside the subset: refused, unless a rule's `allow_syntax` sends it unchecked. */
function refuseOrPassThrough(
  policy: CompiledPolicy,
  target: PolicyTarget,
  command: string,
  error: { construct: string; message: string; pos: number },
): PolicyDecision {
  const where = `at offset ${error.pos}`;
  if (error.construct === 'syntax')
    return denied('parse_error', `The command could not be parsed ${where}: ${error.message}.`, []);
  const code = `unsupported_syntax:${error.construct}` as BuiltinRuleCode;
  const text = command.trim();
  const rule = policy.allow.find(
    (r) =>
      appliesTo(r, target) &&
      (r.allowSyntax.has(error.construct) || r.allowSyntax.has('*')) &&
      r.commands.some((g) => g.matches(text)),
  );
  if (rule === undefined)
    return denied(
      code,
      `The command uses a construct the policy does not read (${where}: ${error.message}); only simple commands, pipes and lists are checked, and no allow rule with allow_syntax: [${error.construct}] matches it on '${target.alias}'.`,
      [],
    );
  // Unchecked text: deny rules match anywhere in it, not only as the whole command.
  for (const deny of policy.deny) {
    if (!appliesTo(deny, target)) continue;
    const glob = deny.commandsAnywhere.find((g) => g.matches(text));
    if (glob !== undefined)
      return denied(
        { rule: deny.name },
        `The command matches the deny pattern '${glob.pattern}' of rule '${deny.name}'.`,
        [],
      );
  }
  return {
    allowed: true,
    rule: rule.name,
    rules: [{ kind: 'rule', name: rule.name }],
    reason: `Rule '${rule.name}' allows ${error.construct} (allow_syntax): the command is sent as written, unchecked.`,
    segments: [text],
    sent: command,
    programs: [],
    writes: [],
    unchecked: true,
  };
}

function callsOf(script: Script): Call[] {
  return script.stmts.flatMap((s) => [s.body.first, ...s.body.rest.map((r) => r.pipeline)].flatMap((p) => p.commands));
}

/** Builds the node of a parsed simple command and, recursively, of what it runs. */
function nodeFromCall(ctx: Context, call: Call, raw: string, depth: number): Node {
  const argv = call.args.map((word, index) => {
    const arg = argFromWord(word);
    ctx.origin.set(arg, { call, index });
    ctx.printed.set(arg, printWord(word, index === 0));
    return arg;
  });
  const assignWords = call.assigns.map((a) => `${a.name}=${printWord(a.value, false, true)}`);
  const redirWrites: Arg[] = [];
  let problem: Problem | undefined;
  const redirWords = call.redirs.map((r) => {
    const target = argFromWord(r.target);
    if (r.op === '>' || r.op === '>>' || r.op === '>|' || r.op === '<>') redirWrites.push(target);
    problem ??= redirectionProblem(r.op, r.target, target);
    return printCall({ assigns: [], args: [], redirs: [r], pos: 0, end: 0 });
  });
  const plainWords = [
    ...call.assigns.map((a) => `${a.name}=${displayValue(a.value)}`),
    ...argv.map((a) => a.value),
    ...call.redirs.map((r) => `${r.fd ?? ''}${r.op}${displayValue(r.target)}`),
  ];
  const plain = plainWords.join(' ');
  const node: Node = {
    words: [...assignWords, ...argv.map((a) => ctx.printed.get(a) as string), ...redirWords],
    programIndex: assignWords.length,
    argv,
    plain,
    plainWords,
    parent: undefined,
    via: undefined,
    fromInput: false,
    effects: [],
    redirWrites,
    raw,
    problem,
  };
  addNode(ctx, node, depth);
  return node;
}

/**
 * bash opens a network connection for a redirection to `/dev/tcp/HOST/PORT` or `/dev/udp/…`
 * (dash opens a file of that name): refused. A path the remote shell computes could be one.
 */
function redirectionProblem(op: string, word: Word, target: Arg): Problem | undefined {
  if (op === '<&' || op === '>&') return undefined;
  if (/^\/dev\/(?:tcp|udp)\//.test(target.value))
    return {
      code: 'unsupported_syntax:network_redirect',
      reason: `The redirection to '${target.value}' opens a network connection in bash (and a file in dash).`,
    };
  const computed = word.parts.some((p, i) => p.kind === 'param' || p.kind === 'glob' || (p.kind === 'tilde' && i > 0));
  if (computed)
    return {
      code: 'unknown_argument',
      reason: `The redirection ${op} '${target.value}' names a path the remote shell computes, which could be anything (bash's /dev/tcp included).`,
    };
  return undefined;
}

/** Args whose only computed part is a leading `~` (the login user's home): matched as written, `~/…`. */
const HOME_PATHS = new WeakSet<Arg>();

function argFromWord(word: Word): Arg {
  const exact = literalValue(word) !== undefined;
  if (!exact && word.parts[0]?.kind === 'tilde' && word.parts.slice(1).every((p) => p.kind === 'lit')) {
    const arg: Arg = { value: displayValue(word), exact: false, splits: false, mayBeOption: false };
    HOME_PATHS.add(arg);
    return arg;
  }
  const first = word.parts[0];
  const unquotedParam = word.parts.some((p) => p.kind === 'param' && !p.quoted);
  const splits = unquotedParam || word.parts.some((p) => p.kind === 'glob');
  const mayBeOption =
    unquotedParam ||
    first?.kind === 'param' ||
    first?.kind === 'glob' ||
    (first?.kind === 'lit' && first.value.startsWith('-') && !exact);
  return { value: displayValue(word), exact, splits, mayBeOption };
}

/** Registers the node, finds what its program does, and builds the nodes of what it runs. */
function addNode(ctx: Context, node: Node, depth: number): void {
  ctx.nodes.push(node);
  const program = node.argv[0];
  if (program === undefined) return;
  if (!program.exact) {
    node.problem = node.fromInput
      ? {
          code: 'shell_from_stdin',
          reason: `'${node.words.join(' ')}' (run by ${node.via}) takes the program it runs from xargs' input; no policy can see that program.`,
        }
      : {
          code: 'unknown_program',
          reason: `The program name '${program.value}'${node.via ? ` (run by ${node.via})` : ''} is computed by the remote shell, so no rule can know what runs.`,
        };
    return;
  }
  node.effects = effectsOf(node.argv);
  for (const effect of node.effects) {
    if (effect.kind !== 'runs' && effect.kind !== 'runs_script') continue;
    if (depth + 1 > MAX_DEPTH) {
      node.problem = { code: 'nesting_too_deep', reason: `Commands are nested more than ${MAX_DEPTH} levels deep.` };
      return;
    }
    if (effect.kind === 'runs') addRunNode(ctx, node, effect, depth + 1);
    else addScriptNodes(ctx, node, effect, depth + 1);
    if (node.problem !== undefined) return;
  }
}

function addRunNode(ctx: Context, parent: Node, effect: Extract<Effect, { kind: 'runs' }>, depth: number): void {
  const argv = [...effect.argv];
  const words = argv.map((a) => printedArg(ctx, a));
  if (effect.extraArgs === true) {
    argv.push({ value: '…', exact: false, splits: true, mayBeOption: true });
    words.push('…');
  }
  const assigns = effect.assigns ?? [];
  const assignWords = assigns.map((a) => printedArg(ctx, a));
  const child: Node = {
    words: [...assignWords, ...words],
    programIndex: assignWords.length,
    argv,
    plain: [...assigns, ...argv].map((a) => a.value).join(' '),
    plainWords: [...assigns, ...argv].map((a) => a.value),
    parent,
    via: describeVia(parent, effect.feature),
    fromInput: parent.fromInput || effect.extraArgs === true || effect.feature.startsWith('xargs'),
    effects: [],
    redirWrites: [],
    raw: parent.raw,
    problem: undefined,
  };
  if (argv.length === 0) {
    parent.problem = {
      code: 'unknown_argument',
      reason: `'${parent.words.join(' ')}' runs a command the policy cannot read.`,
    };
    return;
  }
  addNode(ctx, child, depth);
}

/** `sh -c SCRIPT` and friends: the script parsed like a top-level command, and sent re-printed. */
function addScriptNodes(
  ctx: Context,
  owner: Node,
  effect: Extract<Effect, { kind: 'runs_script' }>,
  depth: number,
): void {
  const words = owner.argv.slice(effect.from, effect.to);
  const via = describeVia(owner, effect.feature);
  if (words.length === 0 || words.some((w) => !w.exact)) {
    if (owner.fromInput) {
      owner.problem = {
        code: 'shell_from_stdin',
        reason: `The script that ${via} runs comes from xargs' input; no policy can see that program.`,
      };
      return;
    }
    owner.problem = {
      code: 'unknown_argument',
      reason: `The script that ${via} runs is computed by the remote shell ('${words.map((w) => w.value).join(' ')}'), so the policy cannot read it.`,
    };
    return;
  }
  const text = words.map((w) => w.value).join(' ');
  const parsed = parseScript(text);
  if (!parsed.ok) {
    const code =
      parsed.error.construct === 'syntax'
        ? 'parse_error'
        : (`unsupported_syntax:${parsed.error.construct}` as BuiltinRuleCode);
    owner.problem = {
      code,
      reason: `The script that ${via} runs ('${text}') cannot be checked: ${parsed.error.message}.`,
    };
    return;
  }
  for (const call of callsOf(parsed.script)) {
    const before = ctx.nodes.length;
    // The client wrote the outer command: a match inside the script was hidden from its text.
    nodeFromCall(ctx, call, owner.raw, depth);
    const inner = ctx.nodes[before];
    if (inner !== undefined) inner.via = via;
  }
  // Send the script as checked: its canonical print replaces the words it was made of.
  const first = words[0] as Arg;
  const origin = ctx.origin.get(first);
  const contiguous = words.every((w, i) => {
    const o = ctx.origin.get(w);
    return o !== undefined && origin !== undefined && o.call === origin.call && o.index === origin.index + i;
  });
  if (origin === undefined || !contiguous) {
    owner.problem = {
      code: 'unknown_argument',
      reason: `The script that ${via} runs could not be re-printed for sending.`,
    };
    return;
  }
  let perCall = ctx.rewrites.get(origin.call);
  if (perCall === undefined) ctx.rewrites.set(origin.call, (perCall = new Map()));
  perCall.set(origin.index, { word: literalWord(printRewritten(parsed.script, ctx.rewrites)), span: words.length });
}

/** `find -exec`, `sudo`: the feature, led by the program's name unless it already is. */
function describeVia(owner: Node, feature: string): string {
  const program = owner.argv[0]?.value ?? '';
  const base = program.slice(program.lastIndexOf('/') + 1);
  return feature.startsWith(base) ? feature : `${base} ${feature}`.trim();
}

function printedArg(ctx: Context, arg: Arg): string {
  return ctx.printed.get(arg) ?? (arg.exact ? quote(arg.value) : arg.value);
}

function printRewritten(script: Script, rewrites: Rewrites): string {
  if (rewrites.size === 0) return printScript(script);
  const mapCall = (call: Call): Call => {
    const perCall = rewrites.get(call);
    if (perCall === undefined) return call;
    const args: Word[] = [];
    for (let i = 0; i < call.args.length; i++) {
      const rewrite = perCall.get(i);
      if (rewrite === undefined) args.push(call.args[i] as Word);
      else {
        args.push(rewrite.word);
        i += rewrite.span - 1;
      }
    }
    return { ...call, args };
  };
  return printScript({
    stmts: script.stmts.map((s) => ({
      ...s,
      body: {
        first: { commands: s.body.first.commands.map(mapCall) },
        rest: s.body.rest.map((r) => ({ op: r.op, pipeline: { commands: r.pipeline.commands.map(mapCall) } })),
      },
    })),
  });
}

/** `$IFS` / `${IFS}` as the quote-removed text shows them (IFS itself can never be set: CODE_VARIABLES). */
const IFS_EXPANSION = /\$(?:IFS\b|\{IFS\})/g;

/**
 * The texts deny checks look at for one node: as printed, quote-removed, program by basename,
 * `..` resolved, and `$IFS` read as the blank it splits on (`rm -rf${IFS}/` is `rm -rf /`).
 */
function denyForms(node: Node): string[] {
  const forms = new Set([node.words.join(' '), node.plain]);
  // Without its assignments too: `FOO=1 rm x` is `rm x` to a deny rule.
  if (node.programIndex > 0) forms.add(node.words.slice(node.programIndex).join(' '));
  const program = node.argv[0]?.value ?? '';
  const base = program.includes('/') ? program.slice(program.lastIndexOf('/') + 1) : program;
  for (const form of [...forms]) {
    if (base !== program) forms.add(form.replace(program, base));
    if (IFS_EXPANSION.test(form)) forms.add(form.replace(IFS_EXPANSION, ' '));
    IFS_EXPANSION.lastIndex = 0;
  }
  for (const form of [...forms]) if (hasDotDot(form)) forms.add(form.split(' ').map(resolveDotDot).join(' '));
  return [...forms];
}

/** Builtins that set the variables named by their operands (`export X=…`, `read X`, …). */
const DECLARING = new Set(['export', 'declare', 'typeset', 'readonly', 'local']);
const NAME_AT_START = /^[A-Za-z_][A-Za-z0-9_]*/;
const EXPANDED_NAME = /\$\{?([A-Za-z_][A-Za-z0-9_]*)/g;

/** Variables a node sets for what runs after it (or, as a prefix assignment, in its children). */
function variablesSet(node: Node): string[] {
  const names = node.plainWords.slice(0, node.programIndex).map((w) => NAME_AT_START.exec(w)?.[0] ?? '');
  const [program, ...args] = node.argv;
  const operands = args.filter((a) => !a.value.startsWith('-'));
  switch (program?.value) {
    case 'cd':
    case 'pushd':
    case 'popd':
      names.push('PWD', 'OLDPWD');
      break;
    case 'read':
    case 'mapfile':
    case 'readarray':
      names.push(...operands.map((a) => NAME_AT_START.exec(a.value)?.[0] ?? ''), 'REPLY', 'MAPFILE');
      break;
    case 'getopts':
      names.push(...operands.slice(1, 2).map((a) => a.value), 'OPTARG', 'OPTIND');
      break;
    case 'printf': {
      const v = args.findIndex((a) => a.value === '-v');
      if (v >= 0) names.push(NAME_AT_START.exec(args[v + 1]?.value ?? '')?.[0] ?? '');
      break;
    }
    default:
      if (DECLARING.has(program?.value ?? ''))
        names.push(...operands.filter((a) => a.value.includes('=')).map((a) => NAME_AT_START.exec(a.value)?.[0] ?? ''));
  }
  return names.filter((n) => n !== '');
}

/**
 * A variable the command line sets and also expands: the policy checks words whose expansions
 * it cannot know, and here their value is the client's own text, chosen past the checks
 * (`export X=' /'; rm -rf$X`). Refused, whatever the order (a nested shell sees exports too).
 */
function variableSetAndExpanded(nodes: Node[]): string | undefined {
  const set = new Map<string, Node>();
  for (const node of nodes) for (const name of variablesSet(node)) if (!set.has(name)) set.set(name, node);
  if (set.size === 0) return undefined;
  for (const node of nodes) {
    for (const arg of [...node.argv, ...node.redirWrites]) {
      if (arg.exact) continue;
      for (const [, name] of arg.value.matchAll(EXPANDED_NAME)) {
        const setter = name === undefined ? undefined : set.get(name);
        if (setter === undefined) continue;
        return `'${node.words.join(' ')}' expands $${name}, which '${setter.words.join(' ')}' in the same command line sets: the policy cannot know what that expansion runs. Run the commands separately, with the value written out.`;
      }
    }
  }
  return undefined;
}

/**
 * A command whose trailing arguments come from xargs' input (`… | xargs rm -f`) can become any
 * command of its program: when a deny pattern names that program, the input may complete it
 * (`echo / | xargs rm -rf` runs `rm -rf /`), so the pattern is taken to match.
 */
function inputMayComplete(node: Node, pattern: string): boolean {
  if (!node.fromInput || node.argv.at(-1)?.value !== '…') return false;
  const first = pattern.trim().split(/\s+/, 1)[0]?.toLowerCase() ?? '';
  if (first === '') return false;
  const program = node.argv[0]?.value ?? '';
  const base = program.slice(program.lastIndexOf('/') + 1).toLowerCase();
  return /[*?[]/.test(first) || first === base;
}

function inputReason(node: Node, what: string): string {
  return `'${node.words.join(' ')}'${node.via ? ` (run by ${node.via})` : ''} takes further arguments from its input, which can complete ${what}; name the arguments instead of feeding them.`;
}

function denyChecks(ctx: Context, command: string, sent: string, segments: string[]): PolicyDecision | undefined {
  const { policy, target } = ctx;
  const formsByNode = ctx.nodes.map(denyForms);
  // A pattern xargs' input may complete: refused, after every pattern that plainly matches.
  let completable: PolicyDecision | undefined;
  for (const deny of denySubstringsFor(policy, target)) {
    // `shown` is the printed (quoted) text: reasons are redacted as text, and a quote-removed
    // form would split a quoted secret with spaces.
    let found: { form: string; shown: string; words?: string[] } | undefined;
    for (const [i, node] of ctx.nodes.entries()) {
      const form = (formsByNode[i] as string[]).find((f) => deny.matches(f));
      if (form !== undefined) {
        found = { form, shown: node.words.join(' '), words: node.plainWords };
        break;
      }
    }
    if (found === undefined && deny.matches(sent)) found = { form: sent, shown: sent };
    if (found === undefined) {
      const fed = ctx.nodes.find((n) => inputMayComplete(n, deny.pattern));
      if (fed !== undefined && completable === undefined)
        completable = denied('deny_substrings', inputReason(fed, `the denied pattern '${deny.pattern}'`), segments);
      continue;
    }
    return {
      ...denied(
        'deny_substrings',
        `After parsing, the command reads '${found.shown}', which contains the denied pattern '${deny.pattern}'.`,
        segments,
      ),
      bypass: {
        original_command: command,
        normalized_command: found.form,
        blocked_pattern: deny.pattern,
        ...(found.words ? { words: found.words } : {}),
      },
    };
  }
  // Version 2: deny rules decide in order with the allow rules (inOrder), not ahead of them.
  for (const rule of policy.version === 2 ? [] : policy.deny) {
    if (!appliesTo(rule, target)) continue;
    for (const [i, node] of ctx.nodes.entries()) {
      for (const form of formsByNode[i] as string[]) {
        const glob = rule.commands.find((g) => g.matches(form));
        if (glob === undefined) continue;
        const decision = denied(
          { rule: rule.name },
          `'${node.words.join(' ')}'${node.via ? ` (run by ${node.via})` : ''} matches the deny pattern '${glob.pattern}' of rule '${rule.name}'.`,
          segments,
        );
        const asWritten = glob.matches(node.raw.trim()) || glob.matches(command.trim());
        return asWritten
          ? decision
          : {
              ...decision,
              bypass: {
                original_command: command,
                normalized_command: form,
                blocked_pattern: glob.pattern,
                words: node.plainWords,
              },
            };
      }
      const completed = rule.commands.find((g) => inputMayComplete(node, g.pattern));
      if (completed !== undefined && completable === undefined)
        completable = denied(
          { rule: rule.name },
          inputReason(node, `the deny pattern '${completed.pattern}' of rule '${rule.name}'`),
          segments,
        );
    }
  }
  return completable;
}

/** What the first matching rule of a version 2 policy says about one command. */
type OrderOutcome =
  | { kind: 'admitted'; admission: Admission }
  | { kind: 'denied'; rule: CompiledRule; pattern: string; form: string }
  | { kind: 'none' };

function isProgramPath(node: Node): boolean {
  const program = node.argv[0];
  return program !== undefined && program.exact && program.value.includes('/');
}

/** The program as a deny rule sees it too: its file name (`/usr/bin/rm` is `rm`). */
function byFileName(argv: Arg[]): Arg[] {
  const program = argv[0];
  if (program === undefined || !program.value.includes('/')) return argv;
  return [{ ...program, value: program.value.slice(program.value.lastIndexOf('/') + 1) }, ...argv.slice(1)];
}

/**
 * Version 2: the rules in file order; the first that applies to the host and matches the
 * command decides. Argv forms match the command's own argv; `commands` globs match as in
 * version 1 (allow: the printed text, a nested program named literally; deny: every deny form).
 * A program given by path is admitted only by a rule naming that path.
 */
function inOrder(ctx: Context, node: Node): OrderOutcome {
  const byPath = isProgramPath(node);
  for (const rule of ctx.policy.rules) {
    if (!appliesTo(rule, ctx.target)) continue;
    if (rule.action === 'deny') {
      if (rule.argv && (matchesArgv(rule.argv, node.argv) || matchesArgv(rule.argv, byFileName(node.argv))))
        return { kind: 'denied', rule, pattern: `${node.argv[0]?.value} (argv rule)`, form: node.words.join(' ') };
      for (const form of denyForms(node)) {
        const glob = rule.commands.find((g) => g.matches(form));
        if (glob !== undefined) return { kind: 'denied', rule, pattern: glob.pattern, form };
      }
      continue;
    }
    if (rule.argv && matchesArgv(rule.argv, node.argv)) return { kind: 'admitted', admission: { rule, literal: true } };
    const admission = admitBy(ctx, node, rule);
    if (admission !== undefined && (!byPath || admission.literal)) return { kind: 'admitted', admission };
  }
  return { kind: 'none' };
}

function orderDenial(
  node: Node,
  outcome: Extract<OrderOutcome, { kind: 'denied' }>,
  command: string,
  segments: string[],
): PolicyDecision {
  const { rule, pattern, form } = outcome;
  const decision = denied(
    { rule: rule.name },
    `'${node.words.join(' ')}'${node.via ? ` (run by ${node.via})` : ''} matches the deny pattern '${pattern}' of rule '${rule.name}', the first rule that matches it.`,
    segments,
  );
  const glob = rule.commands.find((g) => g.pattern === pattern);
  const asWritten = glob === undefined || glob.matches(node.raw.trim()) || glob.matches(command.trim());
  return asWritten
    ? decision
    : {
        ...decision,
        bypass: {
          original_command: command,
          normalized_command: form,
          blocked_pattern: pattern,
          words: node.plainWords,
        },
      };
}

const allowFormsCache = new WeakMap<Node, string[]>();

/** Allow forms: the printed text, and with `..` resolved when it has any — a rule must match both. */
function allowForms(node: Node): string[] {
  let forms = allowFormsCache.get(node);
  if (forms === undefined) {
    const text = node.words.join(' ');
    forms = hasDotDot(text) ? [text, node.words.map(resolveDotDot).join(' ')] : [text];
    allowFormsCache.set(node, forms);
  }
  return forms;
}

/** The rules that admit a node, each saying whether it names the node's program literally. */
function admit(ctx: Context, node: Node): Admission[] {
  const out: Admission[] = [];
  for (const rule of ctx.policy.allow) {
    if (!appliesTo(rule, ctx.target)) continue;
    const admission = admitBy(ctx, node, rule);
    if (admission !== undefined) out.push(admission);
  }
  return out;
}

/** Whether `rule`'s command globs admit the node, and whether they name its program literally. */
function admitBy(ctx: Context, node: Node, rule: CompiledRule): Admission | undefined {
  const program = node.argv[0];
  let best: Admission | undefined;
  // The node itself, then each command that runs it through its argv.
  for (let anchor: Node | undefined = node; anchor !== undefined && best?.literal !== true; anchor = anchor.parent) {
    const index = anchor === node ? node.programIndex : indexInAnchor(anchor, program);
    if (index === undefined) continue;
    const forms = allowForms(anchor);
    for (const glob of rule.commands) {
      if (!forms.every((f) => glob.matches(f))) continue;
      const literal = namesWordLiterally(glob, anchor.words, index);
      // A nested command needs a literal name; a top-level one is admitted by any match (v1).
      const topLevel = anchor === node && node.parent === undefined && node.via === undefined;
      if (literal || topLevel) best = { rule, literal };
      if (literal) break;
    }
  }
  return best;
}

function indexInAnchor(anchor: Node, program: Arg | undefined): number | undefined {
  if (program === undefined) return undefined;
  const i = anchor.argv.indexOf(program);
  return i < 0 ? undefined : anchor.programIndex + i;
}

/** The glob's text before its first wildcard spells out every word up to and including `index`. */
function namesWordLiterally(glob: Glob, words: readonly string[], index: number): boolean {
  const upTo = words.slice(0, index + 1).join(' ');
  const prefix = glob.literalPrefix;
  return prefix.startsWith(upTo) && (prefix.length === upTo.length || prefix[upTo.length] === ' ');
}

function notAdmittedReason(node: Node, target: PolicyTarget): string {
  const text = node.words.join(' ');
  if (node.via === undefined) return `No allow rule matches '${text}' on '${target.alias}'.`;
  const program = node.argv[0]?.value ?? '';
  return `'${text}' (run by ${node.via}) is not allowed on '${target.alias}': a program run by another command needs a rule that names '${program}' literally, on its own or spelled out after the command that runs it; a wildcard never admits a program.`;
}

/** Writes, exec-capable features and unreadable arguments, against the admitting rules. */
function checkEffects(node: Node, admissions: Admission[], writes: string[]): Problem | undefined {
  const text = node.words.join(' ');
  const literalExec = admissions.some((a) => a.literal && a.rule.allowExec);
  const writeTargets: { path: Arg | undefined; feature: string }[] = node.redirWrites.map((path) => ({
    path,
    feature: 'an output redirection',
  }));
  for (const effect of node.effects) {
    switch (effect.kind) {
      case 'write':
        writeTargets.push({ path: effect.path, feature: effect.feature });
        break;
      case 'exec':
        if (!literalExec)
          return {
            code: node.fromInput ? 'shell_from_stdin' : 'exec_option',
            reason: `'${text}' uses ${effect.feature}, which runs commands the policy cannot see; a rule naming '${node.argv[0]?.value}' with allow_exec: true would allow it.`,
          };
        break;
      case 'stdin_program':
        if (!literalExec)
          return {
            code: 'shell_from_stdin',
            reason: `'${text}' takes the program it runs from stdin (${effect.feature}); no policy can see that program. A rule naming it with allow_exec: true would allow it.`,
          };
        break;
      case 'opaque':
        if (!literalExec)
          return {
            code: node.fromInput ? 'shell_from_stdin' : 'unknown_argument',
            reason: `In '${text}', ${effect.feature}: the policy cannot tell what it makes the program do.`,
          };
        break;
      default:
        break;
    }
  }
  for (const { path, feature } of writeTargets) {
    if (path === undefined || (!path.exact && !HOME_PATHS.has(path))) {
      if (path !== undefined && HARMLESS_WRITES.has(path.value)) continue;
      return {
        code: 'write_denied',
        reason: `'${text}' writes through ${feature} to ${path === undefined ? 'files the policy cannot name' : `'${path.value}', a path computed by the remote shell`}.`,
      };
    }
    if (HARMLESS_WRITES.has(path.value)) continue;
    const forms = hasDotDot(path.value) ? [path.value, resolveDotDot(path.value)] : [path.value];
    const ok = admissions.some((a) => a.rule.writePaths.some((g) => forms.every((f) => g.matches(f))));
    if (!ok)
      return {
        code: 'write_denied',
        reason: `'${text}' writes '${path.value}' through ${feature}, and no rule admitting it lists that path in write_paths.`,
      };
    writes.push(path.value);
  }
  return undefined;
}
