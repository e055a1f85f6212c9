/**
 * Leader epochs for truncation (KIP-101, with KIP-279's repeated exchange), pure.
 *
 * Every batch carries the leader epoch it was written in; each replica keeps the first offset
 * of every epoch in its log (the leader-epoch cache). A follower that starts following a new
 * leader asks it (OffsetForLeaderEpoch) where its own latest epoch ends on the leader, and cuts
 * its log there: exactly the suffix the leader does not have, never a committed record (the
 * high-watermark truncation KIP-101 replaced could lose one), never less (two replicas that
 * diverged after a double failure end up identical).
 */

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

/** Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_OFFSET = -1;

export interface EpochEndOffset {
  epoch: number;
  endOffset: number;
}

/**
 * Kafka's LeaderEpochFileCache.endOffsetFor: the largest epoch at or below `requested` that
 * this log knows and where it ends (the start of the next higher epoch, or the log end for
 * the latest one). A requested epoch below every known one answers `requested` with the first
 * epoch's start; one above every known one, or an empty cache, answers undefined.
 */
export function endOffsetForEpoch(epochs: readonly EpochEntry[], requested: number, logEndOffset: number): EpochEndOffset {
  const undefinedAnswer = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET };
  if (requested < 0 || epochs.length === 0) return undefinedAnswer;
  const latest = epochs[epochs.length - 1]!;
  if (latest.epoch === requested) return { epoch: requested, endOffset: logEndOffset };
  const higherIndex = epochs.findIndex((entry) => entry.epoch > requested);
  if (higherIndex === -1) return undefinedAnswer; // above the latest epoch: cannot happen on a leader
  const higher = epochs[higherIndex]!;
  const floor = higherIndex > 0 ? epochs[higherIndex - 1]! : null;
  return { epoch: floor === null ? requested : floor.epoch, endOffset: higher.startOffset };
}

export interface TruncationDecision {
  /** Cut every batch at or after this offset (no-op at or above the log end). */
  offset: number;
  /** False: the follower truncated to an earlier epoch's end and must ask again (KIP-279). */
  complete: boolean;
}

/**
 * The follower's side (Kafka's AbstractFetcherThread.getOffsetTruncationState): given the
 * leader's answer for the follower's latest epoch, where to cut the follower's log.
 *   - The leader knows no such epoch (undefined end offset): back to the high watermark, the
 *     only offset known to be committed.
 *   - The leader answered an epoch the follower does not have: cut to where the follower's
 *     largest epoch below it ends, and ask again with that epoch.
 *   - Otherwise: the smaller of the two logs' ends for that epoch.
 */
export function truncationFor(leader: EpochEndOffset, followerEpochs: readonly EpochEntry[], followerLogEnd: number, followerHighWatermark: number): TruncationDecision {
  if (leader.endOffset === UNDEFINED_OFFSET) return { offset: Math.min(followerHighWatermark, followerLogEnd), complete: true };
  if (leader.epoch === UNDEFINED_EPOCH) return { offset: Math.min(leader.endOffset, followerLogEnd), complete: true };
  const own = endOffsetForEpoch(followerEpochs, leader.epoch, followerLogEnd);
  if (own.endOffset === UNDEFINED_OFFSET) {
    // The follower has no epoch at or below the leader's: everything it has came later.
    return { offset: Math.min(leader.endOffset, followerLogEnd), complete: true };
  }
  if (own.epoch !== leader.epoch) return { offset: Math.min(own.endOffset, followerLogEnd), complete: false };
  return { offset: Math.min(own.endOffset, leader.endOffset, followerLogEnd), complete: true };
}
