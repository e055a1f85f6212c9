/**
 * kafkajs steps many integration tests share: create a topic (waiting for its leaders) and
 * produce records with acks=all, each through a short-lived client.
 */
import type { Kafka, Message } from 'kafkajs';

export async function createTopicWith(kafka: Kafka, topic: string, partitions: number, replicationFactor: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }], waitForLeaders: true });
    if (!created) throw new Error(`topic ${topic} already exists`);
  } finally {
    await admin.disconnect();
  }
}

/** Sends `messages` with acks=all, `perRequest` at a time. */
export async function produceWith(kafka: Kafka, topic: string, messages: Message[], perRequest = 100): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += perRequest) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + perRequest) });
  } finally {
    await producer.disconnect();
  }
}

/** A loop of produce requests (20 records each, acks=all) stops after this even if nobody stops it. */
const PRODUCE_FOR_MS_MAX = 60_000;

/** Produces small batches until stopped (bounded); `stop` waits for the loop to end and gives the count sent. */
export function produceContinuously(kafka: Kafka, topic: string): { sent(): number; stop(): Promise<number> } {
  const producer = kafka.producer();
  let stopped = false;
  let sent = 0;
  const deadline = Date.now() + PRODUCE_FOR_MS_MAX;
  const loop = (async () => {
    await producer.connect();
    while (!stopped && Date.now() < deadline) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `record-${sent + i}` })) });
      sent += 20;
    }
    await producer.disconnect();
  })();
  return {
    sent: () => sent,
    stop: async () => {
      stopped = true;
      await loop;
      return sent;
    },
  };
}
