/**
 * The MCP Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) on the 2026-07-28 revision,
 * mapped onto the task registry that ssh_run_async and the ssh_get_task_* tools already use:
 *
 * - `tools/call ssh_run` from a client that declares the extension in the request's own
 *   capabilities answers with a CreateTaskResult (`resultType: "task"`) as soon as the policy has
 *   admitted the command; a refusal, an unknown alias or bad arguments still answer at once with
 *   the ordinary tool result (the server decides per request). A client that does not declare it
 *   never gets a task.
 * - `tasks/get` reports the registry task: `working` while it runs, then `completed` with exactly
 *   the CallToolResult ssh_run would have returned (a command that could not run is a completed
 *   task whose result has isError), or `cancelled`.
 * - `tasks/cancel` cancels the registry task (the remote process is signalled) and acknowledges.
 * - `tasks/update` acknowledges: these tasks never ask for input.
 *
 * An ssh_run_async task id works with tasks/get and tasks/cancel too, and a Tasks-extension task
 * id with ssh_get_task_status / ssh_get_task_output / ssh_cancel: one registry.
 */
import { ProtocolError, ProtocolErrorCode, type McpServer, type ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { UnknownAliasError } from '../tasks/executor.js';
import type { Task } from '../tasks/registry.js';
import { requestCapabilities, type ToolContext } from './context.js';
import { aliasArg, commandArg, toolInput } from './schemas.js';
import { fail } from './tool-result.js';
import { inToolCallSpan } from './tool-spans.js';
import { deniedMessage, runReply } from './tools/ssh-run.js';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** The tools that may answer with a task. */
const TASK_TOOLS = new Set(['ssh_run']);

/** How long a poll may wait when the policy gives no progress interval. */
const DEFAULT_POLL_MS = 1000;

/** Whether this request's own client capabilities (the 2026-07-28 `_meta` envelope) name the extension. */
export function clientDeclaresTasks(ctx: ServerContext): boolean {
  const extensions = requestCapabilities(ctx)?.extensions;
  return extensions !== undefined && Object.hasOwn(extensions, TASKS_EXTENSION);
}

type WireTaskStatus = 'working' | 'input_required' | 'completed' | 'cancelled' | 'failed';

interface TaskTimes {
  /** ms from creation the task may be kept: its run limit plus how long its result is kept. */
  ttlMs: number;
  pollIntervalMs: number;
}

const taskIdParams = z.looseObject({ taskId: z.string().min(1).max(200) });
const updateParams = z.looseObject({ taskId: z.string().min(1).max(200), inputResponses: z.unknown().optional() });
const anyResult = z.looseObject({});

/**
 * Installs the extension on a 2026-07-28 instance. Call before the tools are registered: the
 * `tools/call` handler the SDK installs for them is wrapped so that a task-capable call can start
 * a task instead.
 */
export function registerTasksExtension(server: McpServer, ctx: ToolContext): void {
  const { orchestrator } = ctx;
  const times = new Map<string, TaskTimes>();
  const runArgs = toolInput({ alias: aliasArg, command: commandArg });

  type Handler = (
    request: { params: { name: string; arguments?: Record<string, unknown> } },
    c: ServerContext,
  ) => unknown;
  const low = server.server as unknown as { setRequestHandler: (method: string, ...rest: unknown[]) => void };
  const setRequestHandler = low.setRequestHandler.bind(low);
  low.setRequestHandler = (method: string, ...rest: unknown[]): void => {
    if (method !== 'tools/call' || typeof rest[0] !== 'function') return setRequestHandler(method, ...rest);
    const inner = rest[0] as Handler;
    const wrapped: Handler = (request, c) => {
      const { name } = request.params;
      if (!TASK_TOOLS.has(name) || !clientDeclaresTasks(c)) return inner(request, c);
      const args = runArgs.safeParse(request.params.arguments ?? {});
      // Bad arguments get the tool's ordinary validation error.
      if (!args.success) return inner(request, c);
      return inToolCallSpan(name, c, () => startTask(args.data.alias, args.data.command));
    };
    return setRequestHandler(method, wrapped);
  };

  async function startTask(alias: string, command: string): Promise<Record<string, unknown>> {
    let admission;
    try {
      admission = await orchestrator.executor.start({ alias, command, async: true });
    } catch (err) {
      if (err instanceof UnknownAliasError) return fail(err.message);
      throw err;
    }
    if (!admission.allowed) return fail(deniedMessage(admission));
    // The result is collected by the task itself; this keeps an unhandled rejection from ever escaping.
    admission.done.catch(() => undefined);
    const { task, limits } = admission;
    // Forget the times of tasks the registry has already let go of (their results expired).
    for (const id of times.keys()) if (!orchestrator.tasks.get(id)) times.delete(id);
    times.set(task.id, {
      ttlMs: Math.round(limits.max_seconds * 1000 + task.resultTtlMs),
      pollIntervalMs: Math.max(100, Math.round(limits.task_progress_interval * 1000)) || DEFAULT_POLL_MS,
    });
    // The registry holds the task before this reply leaves: a tasks/get for its id resolves at once.
    return { resultType: 'task', ...taskFields(task, 'working') };
  }

  function taskFields(task: Task, status: WireTaskStatus): Record<string, unknown> {
    const t = times.get(task.id);
    return {
      taskId: task.id,
      status,
      statusMessage: `${task.phase} on ${task.alias}: ${task.bytesRead} bytes after ${task.elapsedMs} ms`,
      createdAt: new Date(task.startedAt).toISOString(),
      lastUpdatedAt: new Date(task.finishedAt ?? Date.now()).toISOString(),
      ttlMs: t?.ttlMs ?? task.elapsedMs + task.resultTtlMs,
      pollIntervalMs: t?.pollIntervalMs ?? DEFAULT_POLL_MS,
    };
  }

  function known(taskId: string): Task {
    const task = orchestrator.tasks.get(taskId);
    if (!task) {
      times.delete(taskId);
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `unknown task "${taskId}": it never existed or its result expired after task_result_ttl seconds`,
      );
    }
    return task;
  }

  server.server.setRequestHandler('tasks/get', { params: taskIdParams, result: anyResult }, ({ taskId }) => {
    const task = known(taskId);
    if (!task.result) return taskFields(task, 'working');
    if (task.state === 'cancelled') return taskFields(task, 'cancelled');
    return { ...taskFields(task, 'completed'), result: runReply(task, task.result) };
  });

  server.server.setRequestHandler('tasks/cancel', { params: taskIdParams, result: anyResult }, ({ taskId }) => {
    known(taskId);
    // Cooperative, as the extension says: the ack does not wait for the remote process to end.
    orchestrator.tasks.cancel(taskId);
    return {};
  });

  server.server.setRequestHandler('tasks/update', { params: updateParams, result: anyResult }, ({ taskId }) => {
    // These tasks never ask for input: there is nothing outstanding to answer.
    known(taskId);
    return {};
  });
}
