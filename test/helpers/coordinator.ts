/**
 * Coordinator-client steps the integration tests share.
 */
import { CoordinatorError, type ErrorCode } from '../../shared/coordinator/protocol';

/** The ZooKeeper error code `promise` fails with; throws when it succeeds or fails otherwise. */
export async function code(promise: Promise<unknown>): Promise<ErrorCode> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CoordinatorError) return error.code;
    throw error;
  }
  throw new Error('expected a CoordinatorError');
}
