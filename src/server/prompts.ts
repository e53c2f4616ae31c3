/**
 * MCP prompts: how a model should use this server and what to do when a command is refused
 * or the config lacks something. Same six names as the Python server, none with arguments;
 * the texts are this server's own and fill in live facts (aliases, tags, file locations,
 * network lists) from the current config snapshot.
 */
import type { GetPromptResult, McpServer } from '@modelcontextprotocol/server';
import type { RuntimeSnapshot } from '../tasks/snapshot.js';
import type { ToolContext } from './context.js';

interface PromptDefinition {
  name: string;
  title: string;
  description: string;
  text: (snap: RuntimeSnapshot) => string;
}

/** Live lists are cut at this many items, with how many more and where to see them all. */
const MAX_LISTED = 40;

function listed(items: readonly string[], more: string): string {
  if (items.length === 0) return '(none)';
  const shown = items.slice(0, MAX_LISTED).join(', ');
  return items.length > MAX_LISTED ? `${shown}, and ${items.length - MAX_LISTED} more (${more})` : shown;
}

function configFile(snap: RuntimeSnapshot, file: string): string {
  return `${snap.config.dirs.configDir}/${file}`;
}

function usage(snap: RuntimeSnapshot): string {
  const { hosts } = snap.config;
  const tagCounts = new Map<string, number>();
  for (const h of hosts) for (const t of h.tags) tagCounts.set(t, (tagCounts.get(t) ?? 0) + 1);
  const hostLines = hosts
    .slice(0, MAX_LISTED)
    .map((h) => `- ${h.alias}${h.tags.length ? ` [${h.tags.join(', ')}]` : ''}`);
  if (hosts.length > MAX_LISTED) hostLines.push(`- … and ${hosts.length - MAX_LISTED} more: call ssh_list_hosts`);
  const inventory = hosts.length
    ? [
        `Hosts in the running config (generation ${snap.generation}, ${hosts.length} in all):`,
        ...hostLines,
        `Tags: ${listed(
          [...tagCounts].map(([t, n]) => `${t} (${n})`),
          'ssh_list_hosts',
        )}`,
      ].join('\n')
    : 'No hosts are configured yet: the ssh_missing_host_guidance prompt says how an operator adds one.';
  return `You are connected to mcp-ssh-orchestrator, which runs shell commands on SSH hosts named by alias, but only what its policy (policy.yml) allows. Everything is denied unless an allow rule admits it, and every command it runs or refuses is written to an audit trail.

${inventory}

Tools:
- ssh_list_hosts {tag?} and ssh_describe_host {alias}: the inventory, the login user and the limits of a host. The resources ssh://hosts, ssh://host/{alias}, ssh://host/{alias}/tags and ssh://host/{alias}/capabilities give the same as JSON; capabilities also lists the policy rules that apply to the host.
- ssh_plan {alias, command}: a dry run. It says whether the policy allows the command, which rule decided and why, the exact text that would be sent (sent), every program it would run and every file it may write, the limits, and the network verdict for each resolved address. Nothing runs and no connection is made.
- ssh_run {alias, command}: runs the command and waits (up to max_seconds); exit code, stdout, stderr.
- ssh_run_on_tag {tag, command}: the same on every host with the tag, in parallel; one result per host, hosts where the policy denies it are reported and skipped.
- ssh_run_async {alias, command}: for long commands; returns a task_id at once. Then ssh_get_task_status, ssh_get_task_output (pass the previous next_offset as offset to read only new lines), ssh_get_task_result (kept for task_result_ttl seconds) and ssh_cancel_async_task (or ssh_cancel).
- ssh_ping: health and version. ssh_reload_config: re-reads the config files after an operator has changed them.

How to work:
1. Use only aliases that exist (the list above or ssh_list_hosts); never invent an alias or an address.
2. Call ssh_plan before a command you are not sure the policy allows, and always before one that changes anything. If it says allowed: false, do not run it and do not rephrase it to get past the rule (other quoting, sudo, env, sh -c, xargs, find -exec, $(...)): nested commands are checked too, and a denied command hidden inside another is logged as a command_bypass_attempt security event. Follow the ssh_policy_denied_guidance prompt instead.
3. Look before you change: read-only diagnostics first (status, logs, df, ps), then the smallest change that does the job, and only with the user's agreement when it is destructive.
4. Stay inside the limits: output past max_output_bytes is cut and a command past max_seconds is killed. Narrow the output on the host (grep, tail -n, head) instead of dumping files; use ssh_run_async for anything that may run long.
5. Write plain shell: simple commands, pipes, && || ; &, redirections, quotes, $VAR and globs are read by the policy. Command substitution, backticks, here-docs, \${x:-y}, subshells, if/for/while and the like are refused as unsupported_syntax:<construct> unless a rule explicitly allows that syntax.
6. Report what happened: the alias, the command as sent, the exit code and what the output shows. A non-zero exit code is a result to explain, not a tool failure.

When something goes wrong, use the matching prompt: ssh_policy_denied_guidance (denied by policy), ssh_network_denied_guidance (an address refused by the network policy), ssh_missing_host_guidance (unknown alias), ssh_missing_credentials_guidance (no login, authentication failed), ssh_config_change_workflow (any change to servers.yml, credentials.yml or policy.yml). You cannot change the configuration through this server; an operator does, and ssh_reload_config then applies it.`;
}

function policyDenied(snap: RuntimeSnapshot): string {
  const { rules, limits } = snap.config.policy;
  const allow = rules.filter((r) => r.action === 'allow').length;
  return `A command was denied by the policy: ssh_run or ssh_run_async answered "denied by policy on <alias> (rule <rule>): …", ssh_run_on_tag reported a host as denied, or ssh_plan returned allowed: false.

1. Do not work around it. Do not retry with different quoting, a wrapper (sudo, env, nice, sh -c, xargs, find -exec), a substitution, another path to the same program or another host to get the same effect. The policy checks the commands run by other commands as well, and a denied command found inside another one is logged as a command_bypass_attempt security event.

2. Find out exactly why: call ssh_plan with the same alias and command. It returns
   - allowed, and rule: what decided: the name of a rule in policy.yml, or a built-in code;
   - reason: a sentence saying what matched or what was missing;
   - sent: when allowed, the exact text that would be sent (the canonical print of what was checked);
   - programs: every program the command would run, nested ones included;
   - writes: every file it may write;
   - limits and, per resolved address, the network verdict.
   The resource ssh://host/{alias}/capabilities lists the rules that apply to the host and its tags.

3. Explain the rule to the user in plain words:
   - default_deny: no allow rule admits the command, or one of the commands it runs, on this host. Allow rules match by alias, by tag and by command glob.
   - deny_substrings, or the name of a deny rule: explicitly forbidden; deny always wins over allow (in a version 2 policy the first matching rule decides). Without a deny_substrings key the 20 built-in patterns apply (rm -rf /, reboot, ssh, curl, kubectl, …). Do not propose weakening a deny unless the user explicitly asks for it.
   - program_path (version 2 policies): the program is given by a path (/tmp/x, ./run.sh) that no rule names exactly.
   - write_denied: it writes a file (>, >>, tee, sed -i, sort -o, curl -o, …) that no write_paths of an admitting rule covers, or a path the policy cannot know ($F).
   - exec_option, shell_from_stdin, unknown_argument: an option that runs code (sed e, awk system(), tar --to-command, python3 -c), a program read from stdin (… | sh), or an argument whose value decides what runs (tar -tf *). These need allow_exec: true on a rule that names the program literally.
   - unknown_program: the remote shell would compute the program name ($CMD, a glob, ~/bin/x).
   - unsupported_syntax:<construct>: shell outside the subset the policy reads ($(...), backticks, heredoc, \${x:-y}, subshell, if/for). The same thing can often be written as a plain pipeline: try that, checked with ssh_plan first.
   - parse_error, empty_command, nesting_too_deep: the command text itself needs fixing.

4. Offer the user the honest options: a different command the current policy allows (check it with ssh_plan before running it), or a change to the policy.

5. A policy change is made by an operator in policy.yml (${configFile(snap, 'policy.yml')}; now ${allow} allow rules, ${rules.length - allow} deny rules, ${limits.deny_substrings.length} deny_substrings). You cannot edit it through this server and must not say you did. If the user wants a change, ask which hosts or tags it is for, and propose the smallest rule, labelled as a suggestion for a human to review:

   rules:
     - name: nginx-status             # reported as the deciding rule and in the audit trail
       action: allow
       aliases: ['web-*']             # host alias globs; the default is ['*']
       tags: [web]                    # optional: only hosts with one of these tags
       commands:
         - 'systemctl status nginx'
         - 'journalctl -u nginx -n *'

   - commands are globs, not regular expressions: * is any run of characters (spaces and / included), ? is one character. Prefer literal commands, with * only where arguments vary.
   - A wildcard never admits a program run by another command: 'sudo *' admits no program by itself; spell it out, as in 'sudo systemctl restart nginx'.
   - write_paths: ['/srv/reports/*'] lets the commands of that rule write those files.
   - allow_exec: true allows exec-capable options and stdin programs, only for programs the rule names literally.
   - allow_syntax: [heredoc] (construct names, or '*') sends matching commands as written, unchecked: the weakest choice; say so if you suggest it.
   - A name must not be a built-in code (default_deny, write_denied, …). limits.deny_substrings and deny rules keep applying to everything.
   The whole model is in docs/policy.md.

6. Once the operator has edited policy.yml: \`mcp-ssh-orchestrator check\` validates it and warns about wildcards standing where a program name would be and about rules that send text unchecked; then ssh_reload_config makes the running server use it (a broken file leaves the running policy in force and says what to fix). Call ssh_plan again to confirm before running the command.`;
}

function networkDenied(snap: RuntimeSnapshot): string {
  const net = snap.config.policy.network;
  const list = (name: string, values: readonly string[]): string =>
    `   ${name}: ${listed(values, `see ${configFile(snap, 'policy.yml')}`)}`;
  return `A connection was refused by the network policy: ssh_run answered "no address of <host> is allowed by the network policy (…)", ssh_plan showed would_run: false with a blocked address under network (or a network_error), or the address actually connected to was refused.

How the network policy works (policy.yml, section network):
- Before connecting, the host name from servers.yml is resolved (IPv4 and IPv6; at most dns_max_per_second lookups per name, cached for dns_cache_ttl seconds) and every address is checked; the first allowed address is used.
- block_ips and block_cidrs always win.
- When allow_ips or allow_cidrs is non-empty, an address must be in one of them; when both are empty, every address that is not blocked is allowed.
- The unspecified addresses 0.0.0.0 and :: are always refused, whatever the lists say: dialling them reaches this machine. A host must be named by its own address.
- The peer address of the connection is checked again before any SSH data is sent.

The running network policy:
${list('allow_ips', net.allow_ips)}
${list('allow_cidrs', net.allow_cidrs)}
${list('block_ips', net.block_ips)}
${list('block_cidrs', net.block_cidrs)}
   dns_max_per_second: ${net.dns_max_per_second}, dns_cache_ttl: ${net.dns_cache_ttl}

What to do:
1. Call ssh_plan with the alias and a harmless command (uptime): resolved_ips and network list every address with the reason it is allowed or blocked; network_error means the name did not resolve (misspelt host in servers.yml, a missing DNS record) or the lookup rate limit was hit.
2. Tell the user which address was refused and by which list. Do not try to reach the machine another way (another alias for it, its IP as a new host, a jump through another host): the network policy is a security boundary.
3. If a name resolves to an address nobody expected, raise that with the user before anyone widens a list: it may be a DNS change or a spoofed record.
4. Ask whether this host should be reachable from this server at all. If it should, an operator adds the smallest entry: the single address to allow_ips, or the narrowest CIDR to allow_cidrs, or removes a block_* entry that was a mistake. Never suggest 0.0.0.0/0 or ::/0, emptying the block lists or disabling the check. Propose it as YAML for a human to review:

   network:
     allow_ips: ['10.20.0.15']
     allow_cidrs: ['10.20.0.0/28']

5. After the operator edits policy.yml: \`mcp-ssh-orchestrator check\`, then ssh_reload_config, then ssh_plan again to see the new verdict. You cannot change the policy through this server yourself.`;
}

function missingHost(snap: RuntimeSnapshot): string {
  const { hosts, credentials } = snap.config;
  return `An alias is unknown: a tool answered 'unknown host alias "<alias>"', or reading ssh://host/<alias> failed with "resource not found" (-32002).

1. Check the name first: call ssh_list_hosts (optionally with a tag) or read ssh://hosts. Aliases are case-sensitive. Configured now: ${listed(
    hosts.map((h) => h.alias),
    'call ssh_list_hosts',
  )}. If the user meant one of these, say so and use it (ask when unsure). Never guess an address or run a command against a host that is not configured.

2. If the host really is missing, an operator adds it to servers.yml (${configFile(snap, 'servers.yml')}); you cannot edit it through this server. Ask the user for each field of the entry:
   - alias: the name clients use; unique, 1-100 characters of A-Z a-z 0-9 . _ -
   - host: its DNS name, IPv4 or IPv6 address
   - port: the SSH port (default 22)
   - credentials: the name of an entry in credentials.yml (defined now: ${listed([...credentials.keys()], 'see credentials.yml')}); if none fits, see the ssh_missing_credentials_guidance prompt
   - tags: groups for ssh_run_on_tag, and what policy rules and overrides.tags match
   - description: a short free text

3. Propose the entry, labelled as a suggestion; servers.yml holds one top-level hosts: list and the new item goes into it:

   hosts:
     - alias: web3
       host: web3.example.com
       port: 22
       credentials: deploy
       tags: [web, production]
       description: Third front web server

4. Host keys are verified strictly and never added automatically: before the first connection the host's key must be in known_hosts (${snap.config.knownHostsPath}). The operator fetches it with \`ssh-keyscan -p <port> <host>\`, checks the fingerprint out of band and appends the line.

5. Check that anything may run there: policy rules match by alias glob and by tag, so a new alias may be covered by existing rules or by none, and its address must pass the network policy (network.allow_* / block_*).

6. Then \`mcp-ssh-orchestrator check\`, ssh_reload_config, ssh_list_hosts to see the new host and ssh_plan to confirm a command before running it.`;
}

function missingCredentials(snap: RuntimeSnapshot): string {
  const { credentials, hosts, dirs } = snap.config;
  const entries = [...credentials.values()].map((c) => {
    const methods = [
      ...(c.key_path !== undefined ? [c.key_passphrase_secret !== undefined ? 'key with passphrase' : 'key'] : []),
      ...(c.password_secret !== undefined ? ['password'] : []),
      ...(c.use_agent ? ['agent'] : []),
    ];
    return `${c.name} (user ${c.username}; ${methods.join(' + ') || 'no login method'})`;
  });
  const without = hosts.filter((h) => h.credentials === undefined).map((h) => h.alias);
  return `A host cannot log in: a tool answered 'host "<alias>" has no credentials', 'credentials "<name>" … are not in credentials.yml', 'secret "<name>" not found', '… use the ssh-agent but SSH_AUTH_SOCK is not set', or the SSH server refused the authentication.

How logins are configured:
- In servers.yml each host names one credentials entry: credentials: <name>.
- credentials.yml (${configFile(snap, 'credentials.yml')}) holds a top-level entries: list; each entry has
  - name: what servers.yml refers to
  - username: the remote account
  - key_path: a private key file (ed25519, ECDSA or RSA) in the keys directory ${dirs.keysDir}, relative to it; an absolute path must lie inside it, and .. is refused
  - key_passphrase_secret: the name of the secret holding the key's passphrase
  - password_secret: the name of the secret holding a password
  - use_agent: true to use the ssh-agent at SSH_AUTH_SOCK
  A login needs at least one of key_path, password_secret and use_agent.
- A plaintext password: or key_passphrase: in credentials.yml is refused: the config does not load until the value is moved into a secret.
- A secret name is letters, digits, _ and -. Its value is looked up in this order: the server's environment variable named like the secret (as written, then upper-cased, as the Docker MCP Gateway sets it), MCP_SSH_SECRET_<NAME> (upper-cased, - becomes _), the key <name> in ${dirs.secretsDir}/.env, then the file ${dirs.secretsDir}/<name> (a final newline is dropped). Secrets are read each time a connection is made; a missing one fails the connection with an error listing every place looked in.

The running config:
- entries: ${listed(entries, 'see credentials.yml')}
- hosts without credentials: ${listed(without, 'see servers.yml')}

What to do:
1. Call ssh_describe_host for the alias: username shows the account it logs in as (null: the host has no credentials).
2. Tell the user which piece is missing. Never ask anyone to paste a password, passphrase or private key into the conversation, and never put one in a command.
3. Propose what the operator should add, labelled as a suggestion (you cannot edit these files through this server):

   entries:
     - name: deploy
       username: deploy
       key_path: id_ed25519
       key_passphrase_secret: deploy_key_passphrase

   with credentials: deploy on the host in servers.yml, the key file in the keys directory and the passphrase in the secret file or environment variable, readable only by the server's user.
4. When the entry is complete but authentication fails, the public key is not in the remote account's authorized_keys, the username is wrong, or the secret holds the wrong value: that is fixed on the host or in the secret, not in the policy.
5. Then \`mcp-ssh-orchestrator check\` (it validates secret names and that key files exist), ssh_reload_config (a secret file's new value needs no reload; a new environment variable needs a restart of the server), and ssh_plan or a harmless ssh_run to confirm.`;
}

function configChange(snap: RuntimeSnapshot): string {
  const { dirs, hosts, credentials, policy, loadedAt } = snap.config;
  return `Changing this server's configuration. You advise; an operator edits the files. You cannot edit them through this server, must not try through ssh_run on some host, and must never say a change was applied when it was not.

The config directory ${dirs.configDir} (--config-dir or MCP_SSH_CONFIG_DIR) holds three YAML files, read together:
- servers.yml: hosts: with alias, host, port, credentials, tags, description.
- credentials.yml: entries: with name, username, key_path, key_passphrase_secret, password_secret, use_agent.
- policy.yml: known_hosts_path; limits (max_seconds, max_output_bytes, task_result_ttl, task_progress_interval, deny_substrings); network (allow_ips, allow_cidrs, block_ips, block_cidrs, dns_max_per_second, dns_cache_ttl); rules (name, action, aliases, tags, commands, and on allow rules write_paths, allow_exec, allow_syntax); overrides (aliases.<alias> and tags.<tag> with the same limit keys; an alias override wins over tag overrides, which win over limits).
Beside it: the keys directory ${dirs.keysDir} (private keys), the secrets directory ${dirs.secretsDir}, and known_hosts at ${snap.config.knownHostsPath} (the host keys; keys are never added automatically).
Running now: generation ${snap.generation}, loaded ${loadedAt.toISOString()}: ${hosts.length} hosts, ${credentials.size} credentials, ${policy.rules.length} rules.

When proposing a change:
1. Say what failed and why (ssh_plan, ssh_describe_host and ssh://host/{alias}/capabilities show the current state), ask whether the user wants a change, then show only the minimal YAML for the right file, labelled as a suggestion to review.
2. Least privilege: a narrow command pattern for the hosts or tags that need it, the smallest address range, secrets rather than values in files (a plaintext password: is refused anyway), allow_exec and allow_syntax only when nothing else works and always called out. Say what else the change would allow.
3. Unknown keys are errors, so use only the keys above (the Python server's deprecated host_key_auto_add and require_known_host are accepted only as false and true: host keys are always verified).

The operator's steps:
1. Edit the files.
2. Run \`mcp-ssh-orchestrator check --config-dir ${dirs.configDir}\`: the same validation as at start, known_hosts included. Every error names the file, line and field and says what is expected; warnings name rules whose wildcard stands where a program name would be and rules that send text unchecked. Exit status 0 means the config is good.
3. Call ssh_reload_config (you may call it once the user says the files are ready). It re-reads the three files and known_hosts and swaps the whole config at once: the generation goes up, idle connections are closed, and commands already running finish under the config they started with.
4. If any file is invalid, nothing changes: generation ${snap.generation} stays in force, and the reply says which file, line and field to fix. Fix it and reload again; a config is never half applied. (At start, an invalid config stops the server with exit status 2; a running server keeps serving.)
5. Confirm: ssh_list_hosts or ssh://host/{alias}/capabilities for the new state, and ssh_plan for a command the change should allow or deny.`;
}

export const PROMPTS: readonly PromptDefinition[] = [
  {
    name: 'ssh_orchestrator_usage',
    title: 'How to use the SSH orchestrator',
    description: 'The tools, the configured hosts and tags, and how to run commands safely under the policy',
    text: usage,
  },
  {
    name: 'ssh_policy_denied_guidance',
    title: 'A command was denied by policy',
    description:
      'Reading the deciding rule with ssh_plan, explaining it, and proposing a least-privilege policy.yml rule',
    text: policyDenied,
  },
  {
    name: 'ssh_network_denied_guidance',
    title: 'A host was refused by the network policy',
    description: 'How network.allow_*/block_* decide, the running lists, and the smallest change to propose',
    text: networkDenied,
  },
  {
    name: 'ssh_missing_host_guidance',
    title: 'An alias is not configured',
    description:
      'Checking the alias against the inventory, and the servers.yml entry and known_hosts line a new host needs',
    text: missingHost,
  },
  {
    name: 'ssh_missing_credentials_guidance',
    title: 'A host has no working login',
    description: 'credentials.yml entries, keys and secrets, and how to fix a failing login without exposing a secret',
    text: missingCredentials,
  },
  {
    name: 'ssh_config_change_workflow',
    title: 'Changing the configuration',
    description: 'The three config files, check, ssh_reload_config, and what happens when a file is invalid',
    text: configChange,
  },
];

function userMessage(text: string): GetPromptResult {
  return { messages: [{ role: 'user', content: { type: 'text', text } }] };
}

export function registerPrompts(server: McpServer, ctx: ToolContext): void {
  for (const prompt of PROMPTS) {
    server.registerPrompt(prompt.name, { title: prompt.title, description: prompt.description }, () =>
      userMessage(prompt.text(ctx.orchestrator.snapshot)),
    );
  }
}
