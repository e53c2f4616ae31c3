/**
 * zod schemas for the three config files. Compatible with the Python mcp-ssh-orchestrator's
 * servers.yml / credentials.yml / policy.yml: keys it accepts are accepted here (deprecated
 * ones included), unknown keys are errors (`.strict()`).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { UNSUPPORTED_CONSTRUCTS } from '../policy/shell/ast.js';
import { isBuiltinRuleCode } from '../policy/rule-codes.js';
import { UNREAD_PYTHON_KEY } from './errors.js';

export const ALIAS_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;
/** RFC 1123 host name: labels of letters, digits and hyphens, dots between, 253 chars max. */
const HOSTNAME_PATTERN =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * A name whose last label is all digits ("10.1", "300.1.1.1") is not a DNS name (RFC 3696 §2)
 * and resolvers may read it as a shorthand IPv4 address, slipping past IP allow/block lists.
 */
const NUMERIC_LAST_LABEL = /(^|\.)\d+\.?$/;

export const hostAddress = z
  .string()
  .min(1)
  .refine((v) => isIP(v) !== 0 || (HOSTNAME_PATTERN.test(v) && !NUMERIC_LAST_LABEL.test(v)), {
    message: 'expected a DNS name, an IPv4 address or an IPv6 address',
  })
  .describe('a DNS name, an IPv4 address or an IPv6 address');

const tagList = z.array(z.string().min(1).max(100)).default([]);

/**
 * An optional name or path where the Python server's files write `""` for "not set" (nearly all
 * its credentials examples do): empty reads as absent.
 */
const unsetWhenEmpty = (inner: z.ZodString) =>
  z
    .union([z.literal(''), inner])
    .optional()
    .transform((v) => (v === '' ? undefined : v));

export const hostSchema = z
  .object({
    alias: z
      .string()
      .regex(ALIAS_PATTERN, 'expected 1-100 characters of A-Z a-z 0-9 . _ -')
      .describe('an alias of 1-100 characters of A-Z a-z 0-9 . _ -'),
    host: hostAddress,
    port: z.number().int().min(1).max(65535).default(22),
    credentials: unsetWhenEmpty(z.string().min(1)),
    tags: tagList,
    description: z.string().default(''),
  })
  .strict();

export const serversFileSchema = z
  .object({
    hosts: z.array(hostSchema).default([]),
  })
  .strict();

/** Plaintext fields the Python server reads; empty ones say nothing and are dropped, others are refused (errors.ts). */
const PLAINTEXT_FIELDS = ['password', 'key_passphrase'];

export const credentialSchema = z.preprocess(
  (raw) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
    const entry = { ...(raw as Record<string, unknown>) };
    for (const field of PLAINTEXT_FIELDS) if (entry[field] === '') delete entry[field];
    return entry;
  },
  z
    .object({
      name: z.string().min(1).max(100),
      username: z.string().min(1),
      key_path: unsetWhenEmpty(z.string().min(1)),
      key_passphrase_secret: unsetWhenEmpty(z.string().min(1)),
      password_secret: unsetWhenEmpty(z.string().min(1)),
      /** Use the ssh-agent at $SSH_AUTH_SOCK (an extension; the Python server has no agent support). */
      use_agent: z.boolean().default(false),
    })
    .strict(),
);

export const credentialsFileSchema = z
  .object({
    entries: z.array(credentialSchema).default([]),
  })
  .strict();

/** The limits any of `limits`, `overrides.aliases.X` and `overrides.tags.X` may set. */
const limitFields = {
  max_seconds: z.number().int().positive().optional(),
  max_output_bytes: z.number().int().positive().optional(),
  task_result_ttl: z.number().int().positive().optional(),
  task_progress_interval: z.number().positive().optional(),
  /**
   * Deprecated in the Python server, which ignores a weakening value: host keys are always
   * verified. Accepted for its files; `true` / `false` respectively is a config_warning.
   */
  host_key_auto_add: z.boolean().optional(),
  require_known_host: z.boolean().optional(),
  /** Replaces the list for the hosts an override applies to (as in the Python server). */
  deny_substrings: z.array(z.string().min(1)).optional(),
};

/**
 * The Python server's built-in deny list, in force when policy.yml sets no `deny_substrings`
 * (an explicit `deny_substrings: []` turns it off). Destructive commands first, then tools for
 * lateral movement and egress. Matched as substrings, case folded (docs/policy.md).
 */
export const DEFAULT_DENY_SUBSTRINGS: readonly string[] = [
  'rm -rf /',
  ':(){ :|:& };:',
  'mkfs ',
  'dd if=/dev/zero',
  'shutdown -h',
  'reboot',
  'userdel ',
  'passwd ',
  'ssh ',
  'scp ',
  'rsync -e ssh',
  'curl ',
  'wget ',
  'nc ',
  'nmap ',
  'telnet ',
  'kubectl ',
  'aws ',
  'gcloud ',
  'az ',
];

export const limitOverrideSchema = z.object(limitFields).strict();

/**
 * The Python project's version 2 layout of limits: `limits.default` for the base values and
 * `limits.overrides` as a list of entries that apply to hosts by alias and tag globs. Accepted
 * in either version, beside the flat keys and the top-level `overrides` mapping.
 */
/** Alias globs of a rule or a listed override. As in the Python server, absent or `[]` means every host. */
const aliasGlobs = z
  .array(z.string().min(1))
  .default(['*'])
  .transform((aliases) => (aliases.length === 0 ? ['*'] : aliases));

export const listedOverrideSchema = z
  .object({
    ...limitFields,
    aliases: aliasGlobs,
    tags: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const limitsSchema = z
  .object({
    ...limitFields,
    deny_substrings: z
      .array(z.string().min(1))
      .optional()
      .describe('substrings refused anywhere in a command; absent: the 20 built-in patterns; [] for none'),
    default: limitOverrideSchema.optional(),
    overrides: z.array(listedOverrideSchema).optional(),
  })
  .strict()
  // A list in limits.default counts as the global list; neither: the built-in one.
  .transform((limits) => ({
    ...limits,
    deny_substrings: limits.deny_substrings ?? limits.default?.deny_substrings ?? [...DEFAULT_DENY_SUBSTRINGS],
  }));

/** An address of allow_ips / block_ips; a CIDR block there is pointed to its own list. */
const ipAddress = (cidrList: 'allow_cidrs' | 'block_cidrs') =>
  z
    .string()
    .superRefine((v, ctx) => {
      if (isIP(v) !== 0) return;
      ctx.addIssue({
        code: 'custom',
        message: v.includes('/')
          ? `expected an IPv4 or IPv6 address; a CIDR block goes under network.${cidrList}`
          : 'expected an IPv4 or IPv6 address',
      });
    })
    .describe('an IPv4 or IPv6 address');
const cidr = z
  .string()
  .refine(
    (v) => {
      const [addr, bits, ...rest] = v.split('/');
      if (rest.length > 0 || addr === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
      const family = isIP(addr);
      const n = Number(bits);
      return (family === 4 && n <= 32) || (family === 6 && n <= 128);
    },
    { message: 'expected a CIDR block such as 10.0.0.0/8 or fd00::/8' },
  )
  .describe('a CIDR block such as 10.0.0.0/8 or fd00::/8');

export const networkSchema = z
  .object({
    allow_ips: z.array(ipAddress('allow_cidrs')).default([]),
    allow_cidrs: z.array(cidr).default([]),
    block_ips: z.array(ipAddress('block_cidrs')).default([]),
    block_cidrs: z.array(cidr).default([]),
    /** Python: network.require_known_host overrides the limits one; `false` is ignored (config_warning). */
    require_known_host: z.boolean().optional(),
    /** Lookups per second per host name before `dns_rate_limit_exceeded`. */
    dns_max_per_second: z.number().positive().default(10),
    /** Seconds a resolved address list is reused. */
    dns_cache_ttl: z.number().nonnegative().default(60),
    /**
     * Shown in the Python project's README (`allow: [CIDR…]`, `deny: [CIDR…]`) but never read
     * by its server: accepted, not applied, a config_warning each (config/load.ts).
     */
    allow: z.unknown().optional().describe(UNREAD_PYTHON_KEY),
    deny: z.unknown().optional().describe(UNREAD_PYTHON_KEY),
  })
  .strict();

export const ruleSchema = z
  .object({
    id: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    /** As in the Python server, a rule without an action denies. */
    action: z.enum(['allow', 'deny']).default('deny'),
    aliases: aliasGlobs,
    tags: z.array(z.string().min(1)).default([]),
    /** Whole-command globs (version 1; also accepted in version 2, after the argv forms of the same rule). */
    commands: z.array(z.string().min(1)).default([]),
    /** Version 2: programs admitted with any arguments (at most simple_max_args of them). */
    simple_binaries: z.array(z.string().min(1)).optional(),
    simple_max_args: z.number().int().min(0).optional(),
    /** Version 2: one program, its leading arguments and the paths at given argv positions. */
    binary: z.string().min(1).optional(),
    arg_prefix: z.array(z.string()).optional(),
    allow_extra_args: z.boolean().optional(),
    path_args: z
      .object({
        indices: z.array(z.number().int().min(1)).min(1).describe('argv positions (the program is 0)'),
        patterns: z.array(z.string().min(1)).min(1),
      })
      .strict()
      .optional(),
    /**
     * Legacy: send commands this rule matches unchecked when they use `$(...)`, backticks,
     * `<(...)`, here-docs or here-strings (= allow_syntax of those four, plus allow_exec).
     */
    allow_substitution: z.boolean().default(false),
    /**
     * Constructs outside the parsed subset (docs/policy.md) that commands this rule matches may
     * use; such a command is sent as written, unchecked. `*` for any construct.
     */
    allow_syntax: z
      .array(z.enum(['*', ...UNSUPPORTED_CONSTRUCTS]))
      .default([])
      .describe('construct names such as command_substitution or parameter_expansion, or *'),
    /** Exec-capable options and programs reading their program from stdin, for programs this rule names literally. */
    allow_exec: z.boolean().default(false),
    /** Files the commands this rule admits may write: output redirections and write options (globs). */
    write_paths: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .superRefine((rule, ctx) => {
    for (const key of ['name', 'id'] as const) {
      const value = rule[key];
      if (value !== undefined && isBuiltinRuleCode(value))
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `'${value}' is a code the policy itself reports; give the rule another ${key}`,
        });
    }
    if (rule.action === 'deny' && (rule.allow_exec || rule.write_paths.length > 0 || rule.allow_syntax.length > 0))
      ctx.addIssue({
        code: 'custom',
        path: ['action'],
        message: 'allow_exec, write_paths and allow_syntax only mean something on allow rules',
      });
    if (rule.commands.length === 0 && rule.simple_binaries === undefined && rule.binary === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['commands'],
        message: 'a rule needs commands (or, in a version 2 policy, simple_binaries or binary)',
      });
    if (rule.simple_max_args !== undefined && rule.simple_binaries === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['simple_max_args'],
        message: 'simple_max_args only means something with simple_binaries',
      });
    for (const key of ['arg_prefix', 'allow_extra_args', 'path_args'] as const) {
      if (rule[key] !== undefined && rule.binary === undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: `${key} only means something with binary` });
    }
  });

/** Rule keys of version 2 policies (argv rules, first matching rule wins). */
export const VERSION_2_RULE_KEYS = [
  'simple_binaries',
  'simple_max_args',
  'binary',
  'arg_prefix',
  'allow_extra_args',
  'path_args',
] as const;

/**
 * Size limits of policy.yml (docs/policy.md, "Size limits"). Real policies have tens to a few
 * hundred rules; these leave several times that room and keep a policy at the limits cheap:
 * about half a second to load (on the config thread), tens of milliseconds to compile (in
 * slices), about half a millisecond per decision (every decision walks the rules). Each bounds
 * a cost the bytes alone do not: rules (validation, decisions), patterns (compiled globs),
 * network addresses (node:net BlockList, built in one go and checked linearly).
 */
export const POLICY_LIMITS = {
  /** Bytes of policy.yml (every other config file: MAX_FILE_SIZE, 10 MiB). */
  bytes: 1024 * 1024,
  rules: 2000,
  /** Entries of `commands`, `aliases`, `tags` and `write_paths` of all rules, plus `limits.deny_substrings`. */
  patterns: 20_000,
  /** Entries of `network.allow_ips`, `allow_cidrs`, `block_ips` and `block_cidrs` together. */
  networkAddresses: 1000,
} as const;

export const policyFileSchema = z
  .object({
    /**
     * 1 (default): whole-command globs, deny rules win over allow rules. 2: the Python server's
     * argv rules too, and rules decide in order, the first that matches each command.
     */
    version: z.union([z.literal(1), z.literal(2)], { message: 'expected 1 or 2' }).default(1),
    known_hosts_path: unsetWhenEmpty(z.string().min(1)),
    /**
     * Written at the top level in the Python project's README and FAQ, where its server never
     * reads them: accepted, not applied (as there), a config_warning each (config/load.ts).
     */
    deny_substrings: z.array(z.string()).optional().describe(UNREAD_PYTHON_KEY),
    host_key_auto_add: z.boolean().optional().describe(UNREAD_PYTHON_KEY),
    require_known_host: z.boolean().optional().describe(UNREAD_PYTHON_KEY),
    limits: limitsSchema.default(() => ({ deny_substrings: [...DEFAULT_DENY_SUBSTRINGS] })),
    network: networkSchema.default({
      allow_ips: [],
      allow_cidrs: [],
      block_ips: [],
      block_cidrs: [],
      dns_max_per_second: 10,
      dns_cache_ttl: 60,
    }),
    rules: z.array(ruleSchema).default([]),
    overrides: z
      .object({
        aliases: z.record(z.string(), limitOverrideSchema).default({}),
        tags: z.record(z.string(), limitOverrideSchema).default({}),
      })
      .strict()
      .default({ aliases: {}, tags: {} }),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (policy.version === 2) return;
    for (const [index, rule] of policy.rules.entries()) {
      for (const key of VERSION_2_RULE_KEYS) {
        if (rule[key] !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['rules', index, key],
            message: `${key} is a version 2 rule key: put "version: 2" at the top of policy.yml (rules then decide in order, the first match wins)`,
          });
      }
    }
  });

export type HostConfig = z.infer<typeof hostSchema>;
export type ServersFile = z.infer<typeof serversFileSchema>;
export type CredentialConfig = z.infer<typeof credentialSchema>;
export type CredentialsFile = z.infer<typeof credentialsFileSchema>;
export type LimitsConfig = z.infer<typeof limitsSchema>;
export type LimitOverride = z.infer<typeof limitOverrideSchema>;
export type ListedOverride = z.infer<typeof listedOverrideSchema>;
export type NetworkConfig = z.infer<typeof networkSchema>;
export type RuleConfig = z.infer<typeof ruleSchema>;
export type PolicyFile = z.infer<typeof policyFileSchema>;

/** Effective limits for one host after merging defaults, `limits`, alias and tag overrides. */
export interface EffectiveLimits {
  max_seconds: number;
  max_output_bytes: number;
  task_result_ttl: number;
  task_progress_interval: number;
}

export const DEFAULT_LIMITS: EffectiveLimits = {
  max_seconds: 60,
  max_output_bytes: 1024 * 1024,
  task_result_ttl: 300,
  task_progress_interval: 0.5,
};
