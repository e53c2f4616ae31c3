/**
 * Test-only tools, registered only when MCP_SSH_TEST_TOOLS=1 (the integration tests set it; a
 * deployment never does). `ssh_test_confirm` is the multi round-trip (MRTR) shape the human
 * approval of risky commands will take, without running anything:
 *
 * 1. the first call answers `input_required`: one form elicitation ("approve?") and a
 *    `requestState` sealed with the server's HMAC key, bound to tools/call, expiring, and holding
 *    a digest of the alias and command it was minted for;
 * 2. the client retries with the answer and the state echoed verbatim; the SDK's verify hook
 *    refuses state that fails the MAC, has expired or was minted for another method, and this
 *    handler refuses state minted for another alias or command.
 *
 * 2026-07-28 clients do the round trip themselves; for 2025-11-25 clients the SDK sends a real
 * `elicitation/create` request and re-enters the handler with the answer.
 */
import {
  acceptedContent,
  inputRequired,
  type McpServer,
  type RequestStateCodec,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { requestCapabilities } from '../context.js';
import { aliasArg, commandArg, toolInput, toolOutput } from '../schemas.js';
import { fail, ok } from '../tool-result.js';

export const TEST_TOOLS_ENV = 'MCP_SSH_TEST_TOOLS';

export function testToolsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[TEST_TOOLS_ENV] === '1';
}

/** What the sealed request state carries. */
interface ConfirmState {
  tool: 'ssh_test_confirm';
  /** sha256 of alias NUL command: the state is good only for the call it was minted for. */
  digest: string;
}

const approval = z.object({ approve: z.boolean().describe('Run it?') });

function digestOf(alias: string, command: string): string {
  return createHash('sha256').update(`${alias}\0${command}`).digest('hex');
}

function declaresElicitation(ctx: ServerContext): boolean {
  const caps = requestCapabilities(ctx);
  // A 2025-era request has no envelope: the SDK's legacy path checks the initialize capabilities.
  return caps === undefined || caps.elicitation !== undefined;
}

export function registerTestTools(server: McpServer, codec: RequestStateCodec): void {
  server.registerTool(
    'ssh_test_confirm',
    {
      title: 'Test: ask for approval (multi round-trip)',
      description:
        'Test only. Asks the client to approve running a command on a host, through a multi round-trip request; runs nothing.',
      inputSchema: toolInput({ alias: aliasArg, command: commandArg }),
      outputSchema: toolOutput({ approved: z.boolean(), alias: z.string(), digest: z.string() }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async ({ alias, command }, ctx) => {
      const digest = digestOf(alias, command);
      const state = ctx.mcpReq.requestState<ConfirmState>();
      if (state === undefined) {
        if (!declaresElicitation(ctx))
          return fail('ssh_test_confirm needs a client that declares the elicitation capability');
        return inputRequired({
          inputRequests: {
            approval: inputRequired.elicit({
              message: `Approve running \`${command}\` on ${alias}?`,
              requestedSchema: approval,
            }),
          },
          requestState: await codec.mint({ tool: 'ssh_test_confirm', digest } satisfies ConfirmState, ctx),
        });
      }
      // Verified by the SDK's hook (MAC, expiry, method binding) before this runs; the call itself is checked here.
      if (typeof state !== 'object' || state.tool !== 'ssh_test_confirm' || state.digest !== digest)
        return fail('the request state was minted for another call: start again without it');
      const answer = acceptedContent(ctx.mcpReq.inputResponses, 'approval', approval);
      const approved = answer?.approve === true;
      return ok(
        { approved, alias, digest },
        approved ? `approved: ${command} on ${alias}` : `not approved: ${command} on ${alias}`,
      );
    },
  );
}
