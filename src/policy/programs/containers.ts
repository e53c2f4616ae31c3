/**
 * Container runners. `docker|podman [GLOBAL] [container] exec [OPTS] CONTAINER CMD…` runs CMD
 * (options stop at the container, as the CLIs' flag parsing does for exec); `run` and `create`
 * start a container whose mounts and privileges the policy does not read. `kubectl [FLAGS]
 * exec [FLAGS] POD -- CMD…` runs CMD; without `--`, kubectl's reading of the words is ambiguous.
 * A `--kubeconfig` file may name credential plugins that run.
 */
import { exec, opaque, runs } from './args.js';
import { has, options, parse } from './getopt.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';

const DOCKER_GLOBAL = options(
  '--host,-H= --config= --context,-c= --debug,-D --log-level,-l= --tls --tlscacert= --tlscert= --tlskey= ' +
    '--tlsverify --url= --connection= --remote,-r --identity= --root= --runroot= --storage-driver= ' +
    '--cgroup-manager= --events-backend= --runtime= --network-cmd-path= --conmon= --help --version,-v',
);
const EXEC = options(
  '--detach,-d --detach-keys= --env,-e= --env-file= --interactive,-i --privileged --tty,-t --user,-u= ' +
    '--workdir,-w= --latest,-l --preserve-fds= --preserve-fd= --cidfile=',
);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

function containerCli(program: string): ProgramAnalyser {
  return (argv) => {
    const global = parse(argv, DOCKER_GLOBAL);
    if (global.problem !== undefined) return [opaque(`${program}: ${global.problem}`)];
    let sub = global.rest;
    if (argv[sub]?.value === 'container') sub++;
    const verb = argv[sub];
    if (verb === undefined) return [];
    if (!verb.exact) return [opaque(`${program} subcommand not known exactly`)];
    const effects: Effect[] = [];
    for (const o of global.options)
      if (o.name === '--network-cmd-path' || o.name === '--conmon' || o.name === '--runtime')
        effects.push(exec(`${program} ${o.name}`));
    if (verb.value === 'run' || verb.value === 'create')
      return [...effects, exec(`${program} ${verb.value} starts a container`)];
    if (verb.value !== 'exec') return effects;
    const parsed = parse(argv, EXEC, { start: sub + 1 });
    if (parsed.problem !== undefined) return [opaque(`${program} exec: ${parsed.problem}`)];
    if (has(parsed, '--latest')) return [...effects, ...runs(`${program} exec`, argv.slice(parsed.rest))];
    const assigns = parsed.options
      .filter((o) => o.name === '--env' && o.value !== undefined && ASSIGNMENT.test(o.value.value))
      .map((o) => o.value as Arg);
    return [...effects, ...runs(`${program} exec`, argv.slice(parsed.rest + 1), { assigns })];
  };
}

const KUBECTL = options(
  '--container,-c= --namespace,-n= --context= --cluster= --user= --kubeconfig= --filename,-f= ' +
    '--pod-running-timeout= --server,-s= --token= --as= --as-group= --as-uid= --request-timeout= --cache-dir= ' +
    '--certificate-authority= --client-certificate= --client-key= --tls-server-name= --v,-v= --stdin,-i ' +
    '--tty,-t --quiet,-q --insecure-skip-tls-verify --all-namespaces,-A --help,-h',
);

/** kubectl's own commands; any other verb is a plugin (a program found on PATH). */
const KUBECTL_VERBS = new Set(
  (
    'annotate api-resources api-versions apply attach auth autoscale certificate cluster-info completion config ' +
    'cordon cp create debug delete describe diff drain edit events exec explain expose get kustomize label logs ' +
    'patch port-forward proxy replace rollout run scale set taint top uncordon version wait plugin'
  ).split(' '),
);

const kubectl: ProgramAnalyser = (argv) => {
  // Flags before the subcommand must be known, so that the subcommand word is found.
  const global = parse(argv, KUBECTL);
  if (global.problem !== undefined) return [opaque(`kubectl: ${global.problem}`)];
  const effects: Effect[] = [];
  if (has(global, '--kubeconfig')) effects.push(exec('kubectl --kubeconfig may run credential plugins'));
  const verb = global.rest;
  const verbWord = argv[verb];
  // An unknown verb runs the plugin `kubectl-VERB` from PATH.
  if (verbWord !== undefined && (!verbWord.exact || !KUBECTL_VERBS.has(verbWord.value)))
    return [...effects, exec(`kubectl ${verbWord.value} may run the plugin kubectl-${verbWord.value}`)];
  // Flags after the verb are read leniently, but a kubeconfig anywhere may name credential plugins.
  for (const arg of argv.slice(verb + 1)) {
    if (arg.exact && arg.value.startsWith('--kubeconfig'))
      effects.push(exec('kubectl --kubeconfig may run credential plugins'));
    else if (!arg.exact && arg.mayBeOption) effects.push(opaque(`kubectl: '${arg.value}' may be any flag`));
  }
  if (verbWord?.value !== 'exec') return effects;
  const dashdash = argv.findIndex((a, i) => i > verb && a.exact && a.value === '--');
  if (dashdash < 0) return [...effects, opaque('kubectl exec without -- before the command')];
  const flags = parse(argv.slice(0, dashdash), KUBECTL, { start: verb + 1, permute: true });
  if (flags.problem !== undefined) return [...effects, opaque(`kubectl exec: ${flags.problem}`)];
  if (has(flags, '--kubeconfig')) effects.push(exec('kubectl --kubeconfig may run credential plugins'));
  if (flags.operands.length !== 1) return [...effects, opaque('kubectl exec: expected one pod before --')];
  return [...effects, ...runs('kubectl exec', argv.slice(dashdash + 1))];
};

export const CONTAINERS: Record<string, ProgramAnalyser> = {
  docker: containerCli('docker'),
  podman: containerCli('podman'),
  kubectl,
};
