/**
 * Which __consumer_offsets partition coordinates a group. Kafka picks it as
 * `Utils.abs(groupId.hashCode) % groupMetadataTopicPartitionCount` (GroupMetadataManager.partitionFor),
 * and clients never compute it themselves (they ask FindCoordinator), but keeping Kafka's exact rule
 * means a log written by Samsa puts each group where Kafka's tools would look for it.
 */

/**
 * Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units with int32
 * overflow. Hand-written: it is three lines, and no npm package promises Java's exact semantics.
 */
export function javaStringHashCode(s: string): number {
  let hash = 0;
  // charCodeAt walks UTF-16 code units, as Java's char[] does (a surrogate pair is two units).
  for (let i = 0; i < s.length; i++) hash = (Math.imul(hash, 31) + s.charCodeAt(i)) | 0;
  return hash;
}

/**
 * Kafka's Utils.abs is `n & 0x7fffffff` (not Math.abs: that would keep Integer.MIN_VALUE negative).
 */
export function partitionForGroup(groupId: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions <= 0) throw new Error(`partitionForGroup: partition count must be a positive integer, got ${partitions}`);
  return (javaStringHashCode(groupId) & 0x7fffffff) % partitions;
}
