// Assertions on the outcome of a wait, shared by the test files.
import { expect } from 'vitest';
import { TaskGroupError, WaitTimeoutError, type WaitGroup, type WaitOptions } from '../src/index.js';
import { rejectionOf } from './helpers.js';

/** The TaskGroupError a wait rejects with; fails the test on any other outcome. */
export async function failureOf(wg: WaitGroup, options?: WaitOptions): Promise<TaskGroupError> {
  const error = await rejectionOf(wg.wait(options));
  expect(error).toBeInstanceOf(TaskGroupError);
  return error as TaskGroupError;
}

/** Proof that a wait would not pass yet: a zero timeout rejects with ERR_WAIT_TIMEOUT. */
export async function expectNotYet(wg: WaitGroup): Promise<void> {
  const error = await rejectionOf(wg.wait({ timeout: 0 }));
  expect(error).toBeInstanceOf(WaitTimeoutError);
  expect((error as WaitTimeoutError).code).toBe('ERR_WAIT_TIMEOUT');
}

/** The `code` of what `fn` throws; fails the test if it returns. */
export function codeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return (error as { code?: unknown } | null)?.code;
  }
  throw new Error('expected a throw');
}
