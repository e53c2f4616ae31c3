/**
 * The contract between the policy's decision (decide.ts) and the program tables: what one
 * command's argv does beyond running its own program. A table reads argv words and reports
 * effects; it never sees shell text, rules or targets, and decides nothing itself.
 */

/** One argv word as the policy knows it after quote removal. */
export interface Arg {
  /** The word's value; exact only when `exact` (else a display form such as `$X`, `*.log`, `{}`). */
  value: string;
  /** The value is known exactly: no variable, glob, tilde or placeholder in it. */
  exact: boolean;
  /** It may expand to several words (an unquoted variable, a glob). */
  splits: boolean;
  /** It may expand to a word starting with `-` (a variable, or a glob starting with a glob character). */
  mayBeOption: boolean;
}

/**
 * What an invocation does besides running its program. `feature` names the option or script
 * feature in a few words (`-exec`, `--to-command`, `sed e command`, `awk system()`), for reasons.
 */
export type Effect =
  /** Runs `argv` as a command (a wrapper such as `sudo`/`nice`, `find -exec`, `xargs`, `docker exec`). */
  | { kind: 'runs'; feature: string; argv: Arg[]; assigns?: Arg[]; extraArgs?: boolean }
  /**
   * A shell runs the words `args[from..to)` joined by single blanks as a script (`sh -c S`,
   * `su -c S`, `watch CMD…`, `ssh host CMD…`). The policy parses that script like a top-level
   * command and sends its canonical print in their place, as one word.
   */
  | { kind: 'runs_script'; feature: string; from: number; to: number }
  /** Runs something the policy cannot see (sed `e`, awk `system()`, `tar --to-command`, `python3 -c`, a script file). */
  | { kind: 'exec'; feature: string }
  /** Writes a file: `path` when the argument naming it is known, undefined when it is not. */
  | { kind: 'write'; feature: string; path: Arg | undefined }
  /** Reads the program it runs from stdin (`sh` with no script, `python3 -`, `awk -f -`, `xargs` building argv from input). */
  | { kind: 'stdin_program'; feature: string }
  /** An argument whose value the table cannot know decides what the program does (`sed -n $X`). */
  | { kind: 'opaque'; feature: string };

/** A program's table entry: given the full argv (argv[0] is the program as written), its effects. */
export type ProgramAnalyser = (argv: readonly Arg[]) => Effect[];
