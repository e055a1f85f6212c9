/**
 * Finding a consumer group's coordinator (FindCoordinator v2, key type 0) and sending it
 * requests that a coordinator move or a coordinator still loading the offsets partition may
 * answer with a retriable error: the CLI retries those (bounded), as kafkajs does.
 */
import { setTimeout as sleep } from 'timers/promises';
import { ApiKey } from '../shared/kafka/api-keys';
import { KafkaConnection, KafkaConnectionError } from '../shared/kafka/client';
import { KafkaError } from '../shared/kafka/errors';
import type { FindCoordinatorResponseV2 } from '../shared/kafka/messages';
import { kafkaFailure, KafkaSession } from './kafka-admin';

const KEY_TYPE_GROUP = 0;
/** How long to keep retrying COORDINATOR_NOT_AVAILABLE / LOAD_IN_PROGRESS / NOT_COORDINATOR (the offsets topic may be created on first use). */
export const COORDINATOR_RETRY_DEADLINE_MS = 30_000;
const BACKOFF_MS_INITIAL = 100;
const BACKOFF_MS_MAX = 1000;

/** Errors after which the request is worth sending again, to the coordinator found anew. */
export const COORDINATOR_RETRIABLE: ReadonlySet<number> = new Set([KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.NOT_COORDINATOR]);

export interface CoordinatorAddress {
  nodeId: number;
  host: string;
  port: number;
}

export function backoffMs(attempt: number): number {
  return Math.min(BACKOFF_MS_MAX, BACKOFF_MS_INITIAL * 2 ** attempt);
}

/** The group's coordinator, asked of any bootstrap broker; retries while none is available. */
export async function findCoordinator(session: KafkaSession, groupId: string, deadlineMs = COORDINATOR_RETRY_DEADLINE_MS): Promise<CoordinatorAddress> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 0; ; attempt++) {
    let errorCode: number = KafkaError.NONE;
    let message: string | null = null;
    try {
      const connection = await session.any();
      const answer = await connection.request<FindCoordinatorResponseV2>(ApiKey.FindCoordinator, 2, { key: groupId, keyType: KEY_TYPE_GROUP });
      if (answer.errorCode === KafkaError.NONE) return { nodeId: answer.nodeId, host: answer.host, port: answer.port };
      errorCode = answer.errorCode;
      message = answer.errorMessage;
    } catch (error) {
      if (!(error instanceof KafkaConnectionError)) throw error;
      errorCode = KafkaError.COORDINATOR_NOT_AVAILABLE;
      message = error.message;
    }
    if (!COORDINATOR_RETRIABLE.has(errorCode) || Date.now() + backoffMs(attempt) > deadline) throw kafkaFailure(errorCode, `coordinator of group ${groupId}`, message);
    await sleep(backoffMs(attempt));
  }
}

/**
 * Sends a request to the group's coordinator and returns the answer, finding the coordinator
 * again while `errorOf(answer)` is retriable or the connection fails, until the deadline.
 */
export async function askCoordinator<R>(session: KafkaSession, groupId: string, send: (coordinator: KafkaConnection, address: CoordinatorAddress) => Promise<R>, errorOf: (answer: R) => number): Promise<R> {
  const deadline = Date.now() + COORDINATOR_RETRY_DEADLINE_MS;
  for (let attempt = 0; ; attempt++) {
    const address = await findCoordinator(session, groupId, Math.max(0, deadline - Date.now()));
    let answer: R | null = null;
    let failure: Error | null = null;
    try {
      answer = await send(await session.connect(`${address.host}:${address.port}`), address);
      if (!COORDINATOR_RETRIABLE.has(errorOf(answer))) return answer;
    } catch (error) {
      if (!(error instanceof KafkaConnectionError)) throw error;
      failure = error;
    }
    if (Date.now() + backoffMs(attempt) > deadline) {
      if (answer !== null) return answer;
      throw kafkaFailure(KafkaError.COORDINATOR_NOT_AVAILABLE, `coordinator of group ${groupId}`, failure?.message);
    }
    await sleep(backoffMs(attempt));
  }
}
