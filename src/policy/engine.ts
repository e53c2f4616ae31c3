/**
 * The command policy: decides whether one command may run on one host, and which limits apply.
 *
 * Order of checks (the first that denies decides):
 *   1. empty command, control characters (anything below 0x20 except tab and newline, DEL,
 *      C1 controls) → `empty_command` / `parse_error`;
 *   2. `limits.deny_substrings` against the raw command → `deny_substrings`;
 *   3. parsing into segments (see command-parse.ts) → `parse_error` (a command that is both
 *      unparseable and contains a deny substring reports the substring);
 *   4. `deny_substrings` against the normalised whole command, every normalised segment, the
 *      commands inside substitutions and the forms behind wrappers → `deny_substrings`;
 *   5. deny rules against the same forms → the rule;
 *   6. a shell that reads its program from a pipe (`echo cmd | sh`, `cat x | bash -s`, also
 *      inside `sh -c` strings and substitutions), or another interpreter that does
 *      (`base64 -d x | python3`, `| perl`, `| node`; see interpreters.ts), or xargs building the
 *      program it runs from the pipe (`| xargs sudo`, `| xargs sh -c`) → `shell_from_stdin`,
 *      unless an allow rule with `allow_substitution: true` names it explicitly (by a pattern
 *      that is not only `*`/`?`);
 *   7. every top-level segment must match an allow rule → else `default_deny`; a segment with
 *      `$(...)`, backticks, `<(...)`/`>(...)` or a here-doc needs a matching allow rule with
 *      `allow_substitution: true` → else `command_substitution`, and the commands inside the
 *      substitution must each be allowed too.
 * When 4 or 5 denies only because of normalisation, the decision carries `bypass`.
 *
 * Programs a shell reads from stdin: a here-doc body or here-string word given to such a shell
 * is analysed as a command line, like a `sh -c` string, for 4 and 5. When the shell is fed by a
 * pipe, the arguments and stdin text of the commands upstream in its pipeline are analysed
 * the same way (they catch `echo 'r""eboot' | sh`); that is best effort, since the upstream
 * output can be computed (`base64 -d`, `printf '\x72...'`), hence rule 6.
 *
 * Matching: globs have `*` (any characters, spaces and `/` included) and `?` (one character);
 * everything else is literal. Allow rules match the whole normalised segment case-sensitively,
 * as the remote shell does. Deny rules and deny substrings match case-insensitively, so
 * `REBOOT` is caught even on a host with a case-insensitive file system; a false deny is
 * cheap, a false allow is not. A deny substring containing `*` is a glob matched anywhere in
 * the text, otherwise a literal substring.
 */
import { DEFAULT_LIMITS } from '../config/schema.js';
import type { EffectiveLimits, LimitOverride, PolicyFile, RuleConfig } from '../config/schema.js';
import { parseCommand } from './command-parse.js';
import type { ParsedSegment, SubstitutionKind } from './command-parse.js';
import { allowMatchForms, normalizeSegment, normalizeWhole, shellWords, wrapperViews } from './normalize.js';

export interface PolicyTarget {
  alias: string;
  tags: readonly string[];
}

export interface BypassInfo {
  original_command: string;
  normalized_command: string;
  blocked_pattern: string;
}

export interface PolicyDecision {
  allowed: boolean;
  /** The rule's `name`, else its `id`, else `rules[<index>]`; or `default_deny`, `deny_substrings`,
   *  `command_substitution`, `shell_from_stdin`, `parse_error`, `empty_command`. */
  rule: string;
  /** One sentence saying why, naming the segment and pattern. */
  reason: string;
  /** The normalised top-level segments that were checked. */
  segments: string[];
  /** Set when the command was caught only after normalisation. */
  bypass?: BypassInfo;
}

/** Commands inside substitutions and `sh -c` strings are parsed again, down to this depth. */
const MAX_NESTING = 8;
const LIMIT_KEYS = ['max_seconds', 'max_output_bytes', 'task_result_ttl', 'task_progress_interval'] as const;

const SUBSTITUTION_WORDS: Record<SubstitutionKind, string> = {
  command_substitution: 'command substitution $(...)',
  backticks: 'backtick command substitution',
  process_substitution: 'process substitution <(...)/>(...)',
  heredoc: 'a here-doc',
};

interface Glob {
  pattern: string;
  matches(text: string): boolean;
}

interface CompiledRule {
  name: string;
  aliases: Glob[];
  tags: Glob[];
  commands: Glob[];
  allowSubstitution: boolean;
}

/** One segment with every form the checks look at. */
interface AnalysedSegment {
  raw: string;
  normalized: string;
  /** Normalised segment plus the forms behind wrappers and inside `sh -c`/`eval` strings. */
  denyForms: string[];
  allowForms: string[];
  substitutions: SubstitutionKind[];
  /** Segments of the commands inside this segment's substitutions. */
  nested: AnalysedSegment[];
  /** Its stdin is the previous segment's output. */
  fromPipe: boolean;
  /** A shell that takes its program from this segment's stdin (directly or via `sh -c sh`). */
  readsStdin: boolean;
  /** Another interpreter (`python3`, `perl`) takes its program from this segment's stdin. */
  stdinInterpreter: string | undefined;
  /** xargs builds its program from this segment's stdin (`xargs sudo`, `xargs sh -c`). */
  xargsProgramFromInput: string | undefined;
  /**
   * Runs a shell or another interpreter whose program comes from a pipe (here, or inside its
   * `sh -c`/`eval` strings): its name, or `a shell`.
   */
  programFromPipe: string | undefined;
}

type Analysis = { ok: true; segments: AnalysedSegment[] } | { ok: false; error: string };

type SegmentVerdict = { allowed: true; rule: string } | { allowed: false; rule: string; reason: string };

export class PolicyEngine {
  private readonly allowRules: CompiledRule[] = [];
  private readonly denyRules: CompiledRule[] = [];
  private readonly denySubstrings: Glob[];

  constructor(private readonly policy: PolicyFile) {
    policy.rules.forEach((rule, index) => {
      const compiled = compileRule(rule, index);
      (rule.action === 'allow' ? this.allowRules : this.denyRules).push(compiled);
    });
    this.denySubstrings = policy.limits.deny_substrings.map(compileDenySubstring);
  }

  decide(target: PolicyTarget, command: string): PolicyDecision {
    if (command.trim() === '') return denied('empty_command', 'The command is empty.', []);
    const control = firstControlCharacter(command);
    if (control !== undefined) {
      const code = `U+${control.toString(16).toUpperCase().padStart(4, '0')}`;
      return denied('parse_error', `The command contains the control character ${code}, which is never allowed.`, []);
    }

    const analysis = analyse(command, 0);
    const segments = analysis.ok ? analysis.segments.map((s) => s.normalized) : [];
    for (const deny of this.denySubstrings) {
      if (deny.matches(command)) {
        const where = analysis.ok ? analysis.segments.find((s) => deny.matches(s.raw)) : undefined;
        const subject = where ? `Segment '${where.raw}'` : 'The command';
        return denied('deny_substrings', `${subject} contains the denied pattern '${deny.pattern}'.`, segments);
      }
    }
    if (!analysis.ok) return denied('parse_error', `The command could not be parsed: ${analysis.error}.`, []);
    if (segments.length === 0) return denied('empty_command', 'The command contains no command, only separators.', []);
    const everySegment = flatten(analysis.segments);

    const normalizedForms = [normalizeWhole(command), ...everySegment.flatMap((s) => s.denyForms)];
    for (const deny of this.denySubstrings) {
      const form = normalizedForms.find((f) => deny.matches(f));
      if (form !== undefined) {
        return {
          ...denied(
            'deny_substrings',
            `After normalisation the command reads '${form}', which contains the denied pattern '${deny.pattern}'.`,
            segments,
          ),
          bypass: { original_command: command, normalized_command: form, blocked_pattern: deny.pattern },
        };
      }
    }

    for (const rule of this.denyRules) {
      if (!appliesTo(rule, target)) continue;
      for (const segment of everySegment) {
        for (const form of segment.denyForms) {
          const glob = rule.commands.find((g) => g.matches(form));
          if (glob === undefined) continue;
          const decision = denied(
            rule.name,
            `Segment '${form}' matches the deny pattern '${glob.pattern}' of rule '${rule.name}'.`,
            segments,
          );
          const rawMatches = glob.matches(segment.raw) || glob.matches(command.trim());
          return rawMatches
            ? decision
            : {
                ...decision,
                bypass: { original_command: command, normalized_command: form, blocked_pattern: glob.pattern },
              };
        }
      }
    }

    // The program of a shell (or python3, perl, ...) fed by a pipe is the upstream output, which
    // no check above can see in general; only an allow rule that names such a segment and opts in
    // may let it run.
    for (const segment of everySegment) {
      const runner = segment.programFromPipe;
      if (runner === undefined || this.explicitlyAllowsStdinShell(target, segment)) continue;
      return denied(
        'shell_from_stdin',
        `Segment '${segment.normalized}' takes the program it runs from a pipe (${runner}), and no allow rule with allow_substitution names it on '${target.alias}'.`,
        segments,
      );
    }

    const allowedBy: string[] = [];
    for (const segment of analysis.segments) {
      const verdict = this.allowSegment(target, segment);
      if (!verdict.allowed) return denied(verdict.rule, verdict.reason, segments);
      if (!allowedBy.includes(verdict.rule)) allowedBy.push(verdict.rule);
    }
    const reason =
      segments.length === 1
        ? `Segment '${segments[0]}' is allowed by rule '${allowedBy[0]}'.`
        : `All ${segments.length} segments are allowed (rules: ${allowedBy.join(', ')}).`;
    return { allowed: true, rule: allowedBy.join(', '), reason, segments };
  }

  limitsFor(target: PolicyTarget): EffectiveLimits {
    const limits: EffectiveLimits = { ...DEFAULT_LIMITS };
    const apply = (source: LimitOverride | undefined): void => {
      if (source === undefined) return;
      for (const key of LIMIT_KEYS) {
        const value = source[key];
        if (value !== undefined) limits[key] = value;
      }
    };
    apply(this.policy.limits);
    // Own properties only: a tag called `constructor` must not reach Object.prototype.
    for (const tag of target.tags) apply(ownEntry(this.policy.overrides.tags, tag));
    apply(ownEntry(this.policy.overrides.aliases, target.alias));
    return limits;
  }

  /** An `allow_substitution` rule matches the segment by a pattern that is more than wildcards. */
  private explicitlyAllowsStdinShell(target: PolicyTarget, segment: AnalysedSegment): boolean {
    return this.allowRules.some(
      (rule) =>
        rule.allowSubstitution &&
        appliesTo(rule, target) &&
        rule.commands.some((g) => /[^*?]/.test(g.pattern) && segment.allowForms.some((f) => g.matches(f))),
    );
  }

  private allowSegment(target: PolicyTarget, segment: AnalysedSegment): SegmentVerdict {
    const matching = this.allowRules.filter(
      (rule) => appliesTo(rule, target) && rule.commands.some((g) => segment.allowForms.some((f) => g.matches(f))),
    );
    if (segment.substitutions.length > 0) {
      const permitting = matching.find((rule) => rule.allowSubstitution);
      if (permitting === undefined) {
        const kind = SUBSTITUTION_WORDS[segment.substitutions[0] as SubstitutionKind];
        return {
          allowed: false,
          rule: 'command_substitution',
          reason: `Segment '${segment.normalized}' uses ${kind}, and no allow rule with allow_substitution matches it on '${target.alias}'.`,
        };
      }
      for (const inner of segment.nested) {
        const verdict = this.allowSegment(target, inner);
        if (!verdict.allowed)
          return { ...verdict, reason: `Inside a substitution of '${segment.normalized}': ${verdict.reason}` };
      }
      return { allowed: true, rule: permitting.name };
    }
    const first = matching[0];
    if (first === undefined) {
      const shown = segment.allowForms[0] ?? segment.normalized;
      return {
        allowed: false,
        rule: 'default_deny',
        reason: `No allow rule matches segment '${shown}' on '${target.alias}'.`,
      };
    }
    return { allowed: true, rule: first.name };
  }
}

/** Code of the first C0 (other than tab and newline), DEL or C1 control character. */
function firstControlCharacter(text: string): number | undefined {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f)) return code;
  }
  return undefined;
}

function denied(rule: string, reason: string, segments: string[]): PolicyDecision {
  return { allowed: false, rule, reason, segments };
}

/** Parses a command line and normalises every segment, recursing into substitutions. */
function analyse(command: string, depth: number): Analysis {
  if (depth > MAX_NESTING) return { ok: false, error: `substitutions are nested more than ${MAX_NESTING} levels deep` };
  const parsed = parseCommand(command);
  if (!parsed.ok) return parsed;
  const segments: AnalysedSegment[] = [];
  for (const [index, segment] of parsed.segments.entries()) {
    const nested: AnalysedSegment[] = [];
    for (const inner of segment.nested) {
      const innerAnalysis = analyse(inner, depth + 1);
      if (!innerAnalysis.ok) return innerAnalysis;
      nested.push(...innerAnalysis.segments);
    }
    const behind = behindWrappers(segment.raw, depth);
    const forms = behind.forms;
    if (behind.readsStdin) {
      // The shell runs its here-doc / here-string text, and a piped-in program when the
      // upstream commands spell it out (`echo 'r""eboot' | sh`).
      forms.push(...programForms(withQuotesRemoved(segment.stdinText), depth));
      if (segment.fromPipe) forms.push(...programForms(upstreamText(parsed.segments, index), depth));
    }
    segments.push({
      raw: segment.raw,
      normalized: normalizeSegment(segment.raw),
      denyForms: [...new Set(forms.filter((f) => f !== ''))],
      allowForms: allowMatchForms(segment.raw),
      substitutions: segment.substitutions,
      nested,
      fromPipe: segment.fromPipe,
      readsStdin: behind.readsStdin,
      stdinInterpreter: behind.stdinInterpreter,
      xargsProgramFromInput: behind.xargsProgramFromInput,
      programFromPipe: behind.programFromPipe ?? (segment.fromPipe ? pipedProgramRunner(behind) : undefined),
    });
  }
  return { ok: true, segments };
}

/** What runs a program read from the segment's stdin, in words for the denial's reason. */
function pipedProgramRunner(behind: BehindWrappers): string | undefined {
  if (behind.readsStdin) return 'a shell';
  if (behind.stdinInterpreter !== undefined) return `the ${behind.stdinInterpreter} interpreter`;
  if (behind.xargsProgramFromInput !== undefined) return `'${behind.xargsProgramFromInput}' runs its input`;
  return undefined;
}

interface BehindWrappers {
  /** The normalised segment and what hides behind its wrappers, for deny checks only. */
  forms: string[];
  readsStdin: boolean;
  stdinInterpreter: string | undefined;
  xargsProgramFromInput: string | undefined;
  programFromPipe: string | undefined;
}

function behindWrappers(raw: string, depth: number): BehindWrappers {
  const forms = [normalizeSegment(raw)];
  const views = wrapperViews(raw);
  forms.push(...views.views);
  let readsStdin = views.readsStdin;
  let stdinInterpreter = views.stdinInterpreter;
  let xargsProgramFromInput = views.xargsProgramFromInput;
  let programFromPipe: string | undefined;
  for (const line of views.innerCommandLines) {
    if (depth >= MAX_NESTING) break;
    const inner = analyse(line, depth + 1);
    // A string the shell would reject still gets checked as one piece of text.
    if (!inner.ok) {
      forms.push(normalizeSegment(line));
      continue;
    }
    const everyInner = flatten(inner.segments);
    forms.push(...everyInner.flatMap((s) => s.denyForms));
    // `sh -c sh`, `sh -c 'true; bash'`: an inner shell not fed by a pipe of its own reads
    // the outer segment's stdin.
    readsStdin ||= inner.segments.some((s) => s.readsStdin && !s.fromPipe);
    stdinInterpreter ??= inner.segments.find((s) => s.stdinInterpreter !== undefined && !s.fromPipe)?.stdinInterpreter;
    xargsProgramFromInput ??= inner.segments.find(
      (s) => s.xargsProgramFromInput !== undefined && !s.fromPipe,
    )?.xargsProgramFromInput;
    programFromPipe ??= everyInner.find((s) => s.programFromPipe !== undefined)?.programFromPipe;
  }
  return { forms, readsStdin, stdinInterpreter, xargsProgramFromInput, programFromPipe };
}

/** Deny-check forms of texts a shell will run as its program (each parsed as a command line). */
function programForms(texts: string[], depth: number): string[] {
  if (depth >= MAX_NESTING) return [];
  return texts.flatMap((text) => {
    const inner = analyse(text, depth + 1);
    return inner.ok ? flatten(inner.segments).flatMap((s) => s.denyForms) : [normalizeSegment(text)];
  });
}

/**
 * What the commands before `segments[index]` in its pipeline may print: their arguments (as
 * the outer shell passes them, each alone and all joined) and their own stdin text. A guess
 * that covers `echo`, `printf '%s\n'`, `cat <<EOF`; not a computation of their output.
 */
function upstreamText(segments: readonly ParsedSegment[], index: number): string[] {
  const texts: string[] = [];
  for (let i = index; i > 0 && segments[i]?.fromPipe === true; i--) {
    const upstream = segments[i - 1] as ParsedSegment;
    const args = shellWords(upstream.raw).slice(1);
    texts.push(...args, args.join(' '), ...withQuotesRemoved(upstream.stdinText));
  }
  return texts.filter((t) => t.trim() !== '');
}

/**
 * Stdin texts as written and after the outer shell's quote removal and expansions: a
 * here-string word reaches stdin without its quotes (`sh <<<"r\"\"eboot"` runs `r""eboot`),
 * an unquoted here-doc body with `$@` and backslash-newlines resolved. For a quoted here-doc
 * the second form is extra (its lines joined by blanks), which can only make a deny stricter.
 */
function withQuotesRemoved(texts: readonly string[]): string[] {
  return texts.flatMap((t) => [t, shellWords(t).join(' ')]);
}

function flatten(segments: AnalysedSegment[]): AnalysedSegment[] {
  return segments.flatMap((s) => [s, ...flatten(s.nested)]);
}

function compileRule(rule: RuleConfig, index: number): CompiledRule {
  const denies = rule.action === 'deny';
  return {
    name: rule.name ?? rule.id ?? `rules[${index}]`,
    aliases: rule.aliases.map((p) => compileGlob(p, { anchored: true, caseInsensitive: false })),
    tags: rule.tags.map((p) => compileGlob(p, { anchored: true, caseInsensitive: false })),
    commands: rule.commands.map((p) => compileGlob(p, { anchored: true, caseInsensitive: denies })),
    allowSubstitution: rule.allow_substitution,
  };
}

function appliesTo(rule: CompiledRule, target: PolicyTarget): boolean {
  const aliasOk = rule.aliases.some((g) => g.matches(target.alias));
  const tagsOk = rule.tags.length === 0 || target.tags.some((tag) => rule.tags.some((g) => g.matches(tag)));
  return aliasOk && tagsOk;
}

function compileDenySubstring(pattern: string): Glob {
  if (pattern.includes('*')) return compileGlob(pattern, { anchored: false, caseInsensitive: true });
  const needle = pattern.toLowerCase();
  return { pattern, matches: (text) => text.toLowerCase().includes(needle) };
}

/**
 * `*` → any characters, `?` → one character, everything else literal. Matched with the
 * two-pointer wildcard algorithm (O(pattern × text)), not a backtracking RegExp, so a pattern
 * with many stars cannot be made slow by a long command.
 */
export function compileGlob(pattern: string, options: { anchored: boolean; caseInsensitive: boolean }): Glob {
  const fold = (text: string): string[] => Array.from(options.caseInsensitive ? text.toLowerCase() : text);
  const body = fold(pattern);
  const chars = options.anchored ? body : ['*', ...body, '*'];
  return { pattern, matches: (text) => wildcardMatch(chars, fold(text)) };
}

function wildcardMatch(pattern: string[], text: string[]): boolean {
  let p = 0;
  let t = 0;
  let starAt = -1;
  let textAtStar = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc !== undefined && pc !== '*' && (pc === '?' || pc === text[t])) {
      p++;
      t++;
    } else if (pc === '*') {
      starAt = p++;
      textAtStar = t;
    } else if (starAt !== -1) {
      p = starAt + 1;
      t = ++textAtStar;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

function ownEntry<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
