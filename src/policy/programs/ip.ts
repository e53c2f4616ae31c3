/**
 * iproute2 `ip`: `ip netns exec NAME CMD…` and `ip vrf exec NAME CMD…` run CMD; `ip -all netns
 * exec CMD…` runs it in every namespace; `ip -batch FILE` reads ip commands (which may include
 * `netns exec`) from a file. ip accepts any prefix of an option, object or command word
 * (`ip net e`), and which global options take a value depends on their order of matching, so
 * every place where `netns exec` could start is taken as running a command.
 */
import { exec, mayShift, opaque, runs } from './args.js';
import type { Effect, ProgramAnalyser } from './types.js';

const prefixOf = (word: string, full: string): boolean => word.length > 0 && full.startsWith(word);

export const ip: ProgramAnalyser = (argv) => {
  const effects: Effect[] = [];
  let all = false;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.value.startsWith('-')) break;
    if (mayShift(arg) || !arg.exact) return [opaque(`ip: option ${arg.value} is not known exactly`)];
    const name = arg.value.replace(/^--?/, '');
    if (prefixOf(name, 'batch')) effects.push(exec('ip -batch reads commands from a file'));
    if (prefixOf(name, 'all')) all = true;
  }
  for (let k = 1; k + 1 < argv.length; k++) {
    const object = argv[k]!;
    const command = argv[k + 1]!;
    const objectMay = !object.exact || prefixOf(object.value, 'netns') || prefixOf(object.value, 'vrf');
    const commandMay = !command.exact || prefixOf(command.value, 'exec');
    if (!objectMay || !commandMay) continue;
    if (!object.exact || !command.exact) return [opaque(`ip: ${object.value} ${command.value} may be netns exec`)];
    if (all) effects.push(...runs('ip -all netns exec', argv.slice(k + 2)));
    effects.push(...runs(`ip ${object.value} exec`, argv.slice(k + 3)));
  }
  return effects;
};
