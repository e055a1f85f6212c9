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
