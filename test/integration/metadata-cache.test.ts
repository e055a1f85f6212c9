/**
 * The metadata cache against a real coordinator: a watch event re-reads only the znode it
 * names (counted at the client), malformed data is left out and logged, deletion
 * acknowledgements and per-state controller epochs are in the snapshot, and a reconnect reads
 * everything again.
 */
import pino from 'pino';
import { MetadataCache, parseAssignment, parseState, staleFor } from '../../broker/cluster/metadata-cache';
import { CoordinatorClient } from '../../shared/coordinator/client';
import { startCoordinator, stopAll, waitFor } from '../helpers/processes';

jest.setTimeout(60_000);

let client: CoordinatorClient;
let reads: string[];
let lines: string[];
let cache: MetadataCache;

beforeAll(async () => {
  const coordinator = await startCoordinator();
  client = new CoordinatorClient({ servers: [coordinator.url], sessionTimeoutMs: 10_000 });
  await client.connect();
  for (const path of ['/brokers/ids', '/config/topics', '/admin/delete_topics']) await client.ensurePath(path);
  await client.create('/cluster/id', 'c1', { createParents: true });
  for (let t = 0; t < 20; t++) {
    await client.create(`/brokers/topics/t${t}`, JSON.stringify({ partitions: { '0': [1], '1': [1] } }), { createParents: true });
    for (const p of [0, 1]) await client.create(`/brokers/topics/t${t}/partitions/${p}/state`, JSON.stringify({ leader: 1, leaderEpoch: 0, isr: [1], controllerEpoch: 3 }), { createParents: true });
  }
  // Count the reads the cache makes (a wrapper around the real client, not a stand-in for it).
  reads = [];
  const counted = new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (property === 'getData' || property === 'getChildren') {
        return (path: string, ...rest: unknown[]) => {
          reads.push(path);
          return (value as (...args: unknown[]) => unknown).call(target, path, ...rest);
        };
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
  lines = [];
  cache = new MetadataCache(counted, pino({ level: 'debug', base: undefined }, { write: (line: string) => void lines.push(line) }));
  await cache.start();
});

afterAll(async () => {
  cache?.stop();
  await client?.close();
  await stopAll();
});

describe('metadata cache', () => {
  test('the first picture has every topic, with each state and its controller epoch', () => {
    expect(cache.view.loaded).toBe(true);
    expect(cache.view.clusterId).toBe('c1');
    expect(cache.view.topics.size).toBe(20);
    expect(cache.view.states.get('t7/1')!.state.controllerEpoch).toBe(3);
  });

  test('a config change re-reads that config only; a state change that state only', async () => {
    reads.length = 0;
    await client.create('/config/topics/t3', JSON.stringify({ 'retention.ms': '1000' }));
    await waitFor('override seen', () => cache.view.overrides.get('t3')?.['retention.ms'] === '1000');
    expect(reads).toEqual(['/config/topics/t3']);

    reads.length = 0;
    await client.setData('/brokers/topics/t5/partitions/1/state', JSON.stringify({ leader: -1, leaderEpoch: 1, isr: [1], controllerEpoch: 4 }));
    await waitFor('state seen', () => cache.view.topics.get('t5')!.partitions[1]!.leader === -1);
    expect(reads).toEqual(['/brokers/topics/t5/partitions/1/state']);
    expect(cache.view.states.get('t5/1')!.state.controllerEpoch).toBe(4);
  });

  test('a new topic is read alone; a deletion marker and its acknowledgements appear in the snapshot', async () => {
    reads.length = 0;
    await client.create('/brokers/topics/fresh', JSON.stringify({ partitions: { '0': [1, 2] } }));
    await waitFor('topic seen', () => cache.view.topics.has('fresh'));
    expect(new Set(reads)).toEqual(new Set(['/brokers/topics/fresh', '/brokers/topics/fresh/partitions/0/state']));

    await client.create('/admin/delete_topics/fresh');
    await waitFor('marked', () => cache.view.topics.get('fresh')?.markedForDeletion === true && cache.view.pendingDeletions.has('fresh'));
    await client.create('/admin/delete_topics/fresh/2');
    await waitFor('acknowledged', () => cache.view.deletionAcks.get('fresh')?.has(2) === true);
    expect([...cache.view.deletionAcks.get('fresh')!]).toEqual([2]);
  });

  test('malformed znode data is left out and logged, not read with defaults', async () => {
    await client.create('/brokers/topics/broken', '{"partitions": {"0": "not a list"}}');
    await client.setData('/brokers/topics/t9/partitions/0/state', '{"leader": "one"}');
    await waitFor('both logged', () => lines.filter((line) => line.includes('"msg":"metadata.malformed"')).length >= 2);
    expect(cache.view.topics.has('broken')).toBe(false);
    expect(cache.view.states.has('t9/0')).toBe(false);
    expect(cache.view.topics.get('t9')!.partitions[0]!.leader).toBe(-1);
    const logged = lines.filter((line) => line.includes('"msg":"metadata.malformed"')).join('\n');
    expect(logged).toContain('/brokers/topics/broken');
    expect(logged).toContain('/brokers/topics/t9/partitions/0/state');
  });

  test('refresh() reads the whole tree again', async () => {
    reads.length = 0;
    await cache.refresh();
    expect(reads.filter((path) => path.endsWith('/state')).length).toBeGreaterThanOrEqual(40);
  });
});

describe('metadata parsing (pure)', () => {
  test.each([
    ['/brokers/ids/3', { kind: 'broker', id: 3 }],
    ['/brokers/topics/a', { kind: 'topic', topic: 'a' }],
    ['/brokers/topics/a/partitions/2/state', { kind: 'state', topic: 'a', partition: 2 }],
    ['/brokers/topics/a/partitions/2', { kind: 'none' }],
    ['/config/topics/a', { kind: 'config', topic: 'a' }],
    ['/admin/delete_topics/a', { kind: 'deletion', topic: 'a' }],
    ['/admin/delete_topics/a/1', { kind: 'deletion', topic: 'a' }],
    ['/controller', { kind: 'controller' }],
    ['/controller_epoch', { kind: 'controllerEpoch' }],
    ['/brokers/ids', { kind: 'full' }],
    ['/brokers', { kind: 'full' }],
  ])('%s → %j', (path, item) => {
    expect(staleFor(path)).toEqual(item);
  });

  test.each([
    ['not JSON', '{'],
    ['no partitions', '{}'],
    ['a gap in the numbering', '{"partitions":{"0":[1],"2":[1]}}'],
    ['a replica that is not an id', '{"partitions":{"0":[1,"x"]}}'],
    ['a repeated replica', '{"partitions":{"0":[1,1]}}'],
  ])('assignment refused: %s', (_name, text) => {
    expect('problem' in parseAssignment(text)).toBe(true);
  });

  test('a state without a controllerEpoch (written before epochs were recorded) counts as epoch 0; a bad one is refused', () => {
    expect(parseState('{"leader":1,"leaderEpoch":2,"isr":[1]}')).toEqual({ value: { leader: 1, leaderEpoch: 2, isr: [1], controllerEpoch: 0 } });
    expect('problem' in parseState('{"leader":1,"leaderEpoch":2,"isr":[1],"controllerEpoch":"x"}')).toBe(true);
    expect('problem' in parseState('{"leader":1,"leaderEpoch":-1,"isr":[1]}')).toBe(true);
  });
});
