import type { McpServer } from '@modelcontextprotocol/server';
import type { ToolContext } from '../context.js';
import { registerSshDescribeHost } from './ssh-describe-host.js';
import { registerSshListHosts } from './ssh-list-hosts.js';
import { registerSshPing } from './ssh-ping.js';
import { registerSshPlan } from './ssh-plan.js';
import { registerSshReloadConfig } from './ssh-reload-config.js';
import { registerSshRun } from './ssh-run.js';
import { registerSshRunAsync } from './ssh-run-async.js';
import { registerSshRunOnTag } from './ssh-run-on-tag.js';
import { registerTaskTools } from './task-tools.js';

export function registerTools(server: McpServer, ctx: ToolContext): void {
  registerSshPing(server, ctx);
  registerSshListHosts(server, ctx);
  registerSshDescribeHost(server, ctx);
  registerSshPlan(server, ctx);
  registerSshRun(server, ctx);
  registerSshRunOnTag(server, ctx);
  registerSshRunAsync(server, ctx);
  registerTaskTools(server, ctx);
  registerSshReloadConfig(server, ctx);
}
