/**
 * FindCoordinator: which broker coordinates a group (the leader of its partition of
 * __consumer_offsets, created on first use). v0-3 ask for one key; v4+ (KIP-699) ask for a
 * batch of keys and get one answer per key, the top-level fields unused.
 * Transaction coordinators (key type 1) do not exist in Samsa: INVALID_REQUEST with a message,
 * rather than a retriable error a client would repeat.
 */
import { KafkaError } from '../../../shared/kafka/errors';
import type { GroupCoordinator } from '../../group/coordinator';
import type { Handler } from './types';

/** The GROUP key type; 1 is TRANSACTION. */
const GROUP_KEY_TYPE = 0;
/** KIP-699: keys as a batch. (The codec fills a field a version lacks with its default, so the version decides, not the field's presence.) */
const BATCH_VERSION = 4;

interface Coordinator {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

async function locate(groups: GroupCoordinator, keyType: number, key: string): Promise<Coordinator> {
  if (keyType !== GROUP_KEY_TYPE) {
    return { key, errorCode: KafkaError.INVALID_REQUEST, errorMessage: `key type ${keyType}: only group coordinators (${GROUP_KEY_TYPE}) are served`, nodeId: -1, host: '', port: -1 };
  }
  const found = await groups.findCoordinator(key);
  return { key, errorCode: found.errorCode, errorMessage: found.message, nodeId: found.nodeId, host: found.host, port: found.port };
}

export const findCoordinator: Handler<'FindCoordinator'> = async ({ context, version, request }) => {
  const keyType = 'keyType' in request ? request.keyType : GROUP_KEY_TYPE;
  if (version >= BATCH_VERSION && 'coordinatorKeys' in request) {
    const coordinators = await Promise.all(request.coordinatorKeys.map((key) => locate(context.groups, keyType, key)));
    return { throttleTimeMs: 0, errorCode: KafkaError.NONE, errorMessage: null, nodeId: -1, host: '', port: -1, coordinators };
  }
  const one = await locate(context.groups, keyType, 'key' in request ? request.key : '');
  return { throttleTimeMs: 0, errorCode: one.errorCode, errorMessage: one.errorMessage, nodeId: one.nodeId, host: one.host, port: one.port, coordinators: [] };
};
