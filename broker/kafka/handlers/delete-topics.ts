/**
 * DeleteTopics: marks topics for deletion; the controller carries it out.
 *
 * v6 names each topic by name or by topic id. As Kafka: an id no topic has answers
 * UNKNOWN_TOPIC_ID (name null); a topic given both a name and an id makes the whole request
 * invalid (every topic answers INVALID_REQUEST). Results carry the topic's id whichever way it
 * was named (the zero id for a name no topic has).
 */
import { KafkaError } from '../../../shared/kafka/errors';
import { uuidFromBuffer, uuidToBuffer, ZERO_UUID } from '../../../shared/kafka/uuid';
import type { Handler, ResponseBody } from './types';

type Result = ResponseBody<'DeleteTopics'>['responses'][number];

export const deleteTopics: Handler<'DeleteTopics'> = async (input) => {
  const { context, request } = input;
  // By version, not by `'topicNames' in request`: the codec fills the fields a version lacks with their defaults.
  const asked = input.version === 6
    ? input.request.topics.map((t) => ({ name: t.name, topicId: uuidFromBuffer(t.topicId) }))
    : input.request.topicNames.map((name) => ({ name: name as string | null, topicId: ZERO_UUID }));
  // A null name is allowed by the schema only from v6 (where `asked` comes from request.topics); the casts below are for the body type every version shares.
  const result = (name: string | null, topicId: string, errorCode: number, errorMessage: string | null): Result => ({ name: name as string, topicId: uuidToBuffer(topicId), errorCode, errorMessage });
  if (asked.some((t) => t.name !== null && t.topicId !== ZERO_UUID)) {
    return { throttleTimeMs: 0, responses: asked.map((t) => result(t.name, t.topicId, KafkaError.INVALID_REQUEST, 'topic name and topic id cannot both be given')) };
  }
  const view = context.cluster();
  const resolved = asked.map((t) => (t.topicId === ZERO_UUID ? t : { name: view.topicsById.get(t.topicId)?.name ?? null, topicId: t.topicId }));
  const names = resolved.flatMap((t) => (t.name === null ? [] : [t.name]));
  const outcomes = new Map((await context.admin.deleteTopics([...new Set(names)], request.timeoutMs)).map((r) => [r.name, r]));
  return {
    throttleTimeMs: 0,
    responses: resolved.map((t) => {
      if (t.name === null) return result(null, t.topicId, KafkaError.UNKNOWN_TOPIC_ID, `no topic has id ${t.topicId}`);
      const outcome = outcomes.get(t.name)!;
      const topicId = t.topicId !== ZERO_UUID ? t.topicId : (view.topics.get(t.name)?.topicId ?? ZERO_UUID);
      return result(t.name, topicId, outcome.errorCode, outcome.errorMessage);
    }),
  };
};
