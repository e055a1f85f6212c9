/**
 * Topic deletion, the broker's half (Kafka's TopicDeletionManager, with acknowledgements in the
 * tree instead of StopReplica responses):
 *
 *   1. /admin/delete_topics/<topic> marks the deletion (DeleteTopics, or an operator).
 *   2. Every broker in the topic's assignment deletes its local logs of the topic, then creates
 *      the persistent child /admin/delete_topics/<topic>/<brokerId> (also when it held nothing).
 *   3. The controller, once every broker of the assignment has acknowledged, deletes
 *      /brokers/topics/<topic>, /config/topics/<topic> and the marker with its children
 *      (broker/controller/decisions.ts: planDeletions). A dead replica keeps the topic marked
 *      until it comes back and acknowledges.
 *
 * Nothing else deletes a log: a topic missing from the tree is never a reason.
 */
import type { CoordinatorClient } from '../../shared/coordinator/client';
import { hasCode } from '../../shared/coordinator/protocol';
import { deletionAckPath } from './metadata-cache';

/**
 * Records that `brokerId` has deleted its logs of `topic`. True when the acknowledgement is
 * there (created now or before); false when the marker is gone (the deletion completed or was
 * withdrawn), which needs nothing more.
 */
export async function acknowledgeDeletion(client: CoordinatorClient, topic: string, brokerId: number): Promise<boolean> {
  try {
    await client.create(deletionAckPath(topic, brokerId), '', { mode: 'persistent' });
    return true;
  } catch (error) {
    if (hasCode(error, 'NodeExists')) return true;
    if (hasCode(error, 'NoNode')) return false; // no marker: never create one by acknowledging
    throw error;
  }
}
