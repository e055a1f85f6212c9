/**
 * Replica assignment for new topics and partitions: Kafka's AdminUtils.assignReplicasToBrokers
 * without racks. Leaders go round-robin over the brokers from `startIndex`; followers follow
 * the leader at a shift that grows every time the round-robin wraps, so replicas spread too.
 * Pure: the random start comes in as an argument.
 */
export class AssignmentError extends Error {
  override readonly name = 'AssignmentError';
}

export function assignReplicas(
  brokerIds: readonly number[],
  partitions: number,
  replicationFactor: number,
  startIndex: number,
  firstPartition = 0,
  startShift = startIndex,
): number[][] {
  const brokers = [...brokerIds].sort((a, b) => a - b);
  if (partitions < 1) throw new AssignmentError(`partitions must be at least 1, got ${partitions}`);
  if (replicationFactor < 1) throw new AssignmentError(`replication factor must be at least 1, got ${replicationFactor}`);
  if (replicationFactor > brokers.length) {
    throw new AssignmentError(`replication factor ${replicationFactor} is larger than the ${brokers.length} live brokers`);
  }
  const n = brokers.length;
  const out: number[][] = [];
  let shift = startShift % n;
  let current = firstPartition;
  for (let p = 0; p < partitions; p++, current++) {
    if (current > 0 && current % n === 0) shift++;
    const first = (current + startIndex) % n;
    const replicas = [brokers[first]!];
    for (let j = 0; j < replicationFactor - 1; j++) {
      replicas.push(brokers[(first + 1 + ((shift + j) % (n - 1))) % n]!);
    }
    out.push(replicas);
  }
  return out;
}
