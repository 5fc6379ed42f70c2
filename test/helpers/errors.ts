/** @module test/helpers/errors — test helpers for the DistillError a call is expected to fail with. */
import { DistillError } from '../../src/errors.js';

/** The DistillError a promise rejects with (anything else, or no rejection, fails the test). */
export async function rejection(promise: Promise<unknown>): Promise<DistillError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DistillError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}
