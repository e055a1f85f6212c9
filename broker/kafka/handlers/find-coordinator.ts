/**
 * FindCoordinator: which broker coordinates a group (the leader of its partition of
 * __consumer_offsets, created on first use). Transaction coordinators (key type 1) do not exist
 * in Samsa: INVALID_REQUEST with a message, rather than a retriable error a client would repeat.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import type { Handler } from './types';

export const findCoordinator: Handler<'FindCoordinator'> = async ({ context, request }) => {
  const keyType = 'keyType' in request ? request.keyType : 0;
  if (keyType !== 0) {
    return { throttleTimeMs: 0, errorCode: KafkaError.INVALID_REQUEST, errorMessage: `key type ${keyType}: only group coordinators (0) are served`, nodeId: -1, host: '', port: -1 };
  }
  const found = await context.groups.findCoordinator(request.key);
  return { throttleTimeMs: 0, errorCode: found.errorCode, errorMessage: found.message, nodeId: found.nodeId, host: found.host, port: found.port };
};
