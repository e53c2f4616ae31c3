/**
 * `mcp-ssh-orchestrator init DIR`: writes a starter config directory with safe defaults
 * (read-only allow rules, destructive commands denied, empty known_hosts) so a newcomer has a
 * server that starts, and files that explain themselves. Never overwrites existing files.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

const SERVERS = `# Hosts the orchestrator may reach. Each alias is what MCP clients name.
# hosts:
#   - alias: web1                # [A-Za-z0-9._-], up to 100 characters
#     host: web1.example.com     # DNS name, IPv4 or IPv6
#     port: 22
#     credentials: deploy        # an entry in credentials.yml
#     tags: [web, production]
#     description: Front web server
hosts: []
`;

const CREDENTIALS = `# SSH identities. key_path is relative to the keys directory (default: ../keys); a key
# file that does not exist yet is a warning at start, and hosts using it fail to connect
# until it does. A secret <name> is looked up, in order, in the environment variable <name>
# (then its upper-cased name), MCP_SSH_SECRET_<NAME> (upper-cased, - becomes _), the key
# <name> in <secrets dir>/.env, then the file <secrets dir>/<name>.
# entries:
#   - name: deploy
#     username: deploy
#     key_path: id_ed25519
#     key_passphrase_secret: deploy_key_passphrase
entries: []
`;

const POLICY = `# Deny by default: a command runs only when an allow rule matches the alias, the
# host's tags and every segment of the command, and no deny rule or substring matches.
known_hosts_path: ../keys/known_hosts

limits:
  max_seconds: 60
  max_output_bytes: 1048576
  task_result_ttl: 300
  # Refused anywhere in a command, before and after parsing (case folded). Without this key the
  # 20 built-in patterns apply (rm -rf /, mkfs, dd if=/dev/zero, reboot, ssh, scp, curl, wget,
  # nc, nmap, kubectl, aws, gcloud, az, ...: docs/policy.md); "deny_substrings: []" turns them off.
  # A list here replaces the built-in one; so does one under overrides.aliases.X / overrides.tags.X
  # for those hosts.
  deny_substrings:
    - "rm -rf /"
    - "mkfs"
    - "dd if=/dev/zero"
    - "shutdown"
    - "reboot"
    - ":(){ :|:& };:"

network:
  # Empty allow lists allow every address not blocked.
  allow_cidrs: []
  block_ips: ["0.0.0.0", "255.255.255.255"]

rules:
  - name: read-only-inspection
    action: allow
    aliases: ["*"]
    commands:
      - "uptime"
      - "hostname"
      - "whoami"
      - "date"
      - "df -h*"
      - "free -m"
      - "uname *"
      - "systemctl status *"
`;

const KNOWN_HOSTS = `# Strict host-key checking: add each host's key after verifying its fingerprint, e.g.
#   ssh-keyscan -p 22 web1.example.com >> known_hosts
`;

/** Files written by init, relative to the parent of the config directory. */
function starterFiles(configDir: string): Array<[string, string]> {
  const keysDir = join(dirname(configDir), 'keys');
  return [
    [join(configDir, 'servers.yml'), SERVERS],
    [join(configDir, 'credentials.yml'), CREDENTIALS],
    [join(configDir, 'policy.yml'), POLICY],
    [join(keysDir, 'known_hosts'), KNOWN_HOSTS],
  ];
}

/** Returns the files it created (existing ones are left untouched). */
export async function writeStarterConfig(dir: string): Promise<string[]> {
  const configDir = resolve(dir);
  const created: string[] = [];
  await mkdir(join(dirname(configDir), 'secrets'), { recursive: true, mode: 0o700 });
  for (const [path, text] of starterFiles(configDir)) {
    if (existsSync(path)) continue;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, text, { mode: 0o600 });
    created.push(path);
  }
  return created;
}
