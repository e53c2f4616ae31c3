import { describe, expect, it } from 'vitest';
import { TaskRegistry } from '../../../src/tasks/registry.js';

describe('TaskRegistry.cancel', () => {
  it('answers true once for a running task, however often it is asked', () => {
    const tasks = new TaskRegistry();
    const task = tasks.create('web1', 'sleep 30', 'abcdefabcdef', true, {
      task_result_ttl: 60,
      max_output_bytes: 1024,
    });
    expect([tasks.cancel(task.id), tasks.cancel(task.id), tasks.cancel(task.id)]).toEqual([true, false, false]);
    expect(task.abort.signal.aborted).toBe(true);
  });

  it('answers false for an unknown task', () => {
    expect(new TaskRegistry().cancel('task_0000000000000000')).toBe(false);
  });
});
