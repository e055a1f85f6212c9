/** Answer builders and the state transition table of the group state machine. */
import { assert } from '../../shared/assert';
import { KafkaError } from '../../shared/kafka/errors';
import type { GroupOutput, GroupStateName, SyncResult } from './group-machine-types';

const EMPTY = Buffer.alloc(0);

/** Kafka's GroupState.validPreviousStates: the only transitions the machine may take. */
export const VALID_PREVIOUS_STATES: Readonly<Record<GroupStateName, readonly GroupStateName[]>> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export function assertTransition(from: GroupStateName, to: GroupStateName): void {
  assert(VALID_PREVIOUS_STATES[to].includes(from), `group state ${from} -> ${to} is not a valid transition`);
}

/** Kafka's JoinGroupResult(memberId, error). */
export function joinError(ticket: number, memberId: string, errorCode: number): GroupOutput {
  assert(errorCode !== KafkaError.NONE, 'joinError needs an error code');
  return {
    kind: 'join',
    ticket,
    result: { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] },
  };
}

/** Kafka's SyncGroupResult(error). */
export function syncError(ticket: number, errorCode: number): GroupOutput {
  assert(errorCode !== KafkaError.NONE, 'syncError needs an error code');
  return { kind: 'sync', ticket, result: syncResult(errorCode, null, null, EMPTY) };
}

export function syncResult(
  errorCode: number,
  protocolType: string | null,
  protocolName: string | null,
  assignment: Buffer,
): SyncResult {
  return { errorCode, protocolType, protocolName, assignment };
}
