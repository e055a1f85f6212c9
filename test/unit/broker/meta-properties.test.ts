/**
 * meta.properties: Kafka's format, read back, and the identity rule as a table.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ClusterIdentityError,
  decideIdentity,
  formatMetaProperties,
  IdentityInputs,
  parseMetaProperties,
  partitionLogDirs,
  readMetaProperties,
  writeMetaProperties,
} from '../../../broker/cluster/meta-properties';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-meta-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('meta.properties file', () => {
  test("Kafka's version 0 layout, and it reads back", () => {
    const text = formatMetaProperties({ brokerId: 3, clusterId: 'AbC-_123xyzAbC-_123xyz' }, new Date(0));
    expect(text.split('\n').filter((line) => !line.startsWith('#') && line !== '')).toEqual(['version=0', 'broker.id=3', 'cluster.id=AbC-_123xyzAbC-_123xyz']);
    expect(parseMetaProperties(text)).toEqual({ brokerId: 3, clusterId: 'AbC-_123xyzAbC-_123xyz' });
  });

  test('a file Kafka wrote (comments, other order, blank lines) is read', () => {
    expect(parseMetaProperties('#\n#Tue Jan 01 00:00:00 UTC 2019\ncluster.id=xyz\n\nversion=0\nbroker.id=12\n')).toEqual({ brokerId: 12, clusterId: 'xyz' });
  });

  test.each([
    ['no version', 'broker.id=1\ncluster.id=x\n'],
    ['version 1 (KRaft)', 'version=1\nbroker.id=1\ncluster.id=x\n'],
    ['a broker id that is not a number', 'version=0\nbroker.id=one\ncluster.id=x\n'],
    ['a negative broker id', 'version=0\nbroker.id=-1\ncluster.id=x\n'],
    ['no cluster id', 'version=0\nbroker.id=1\n'],
    ['a cluster id with spaces', 'version=0\nbroker.id=1\ncluster.id=a b\n'],
    ['a line that is not key=value', 'version=0\nbroker.id=1\ncluster.id=x\ngarbage\n'],
  ])('refused: %s', (_name, text) => {
    expect(() => parseMetaProperties(text)).toThrow(ClusterIdentityError);
  });

  test('written atomically into the directory; absent reads as null; partition directories are recognised', () => {
    const dir = tempDir();
    expect(readMetaProperties(dir)).toBeNull();
    expect(readMetaProperties(path.join(dir, 'missing'))).toBeNull();
    expect(partitionLogDirs(path.join(dir, 'missing'))).toEqual([]);
    writeMetaProperties(dir, { brokerId: 2, clusterId: 'c1' }, new Date());
    expect(readMetaProperties(dir)).toEqual({ brokerId: 2, clusterId: 'c1' });
    expect(fs.readdirSync(dir)).toEqual(['meta.properties']);
    fs.mkdirSync(path.join(dir, 'orders-0'));
    fs.writeFileSync(path.join(dir, 'notes-1'), 'a file, not a log');
    expect(partitionLogDirs(dir)).toEqual(['orders-0']);
  });
});

describe('decideIdentity', () => {
  const base: IdentityInputs = { brokerId: 1, dataDir: '/data/b1', coordinators: ['ws://c:2181'], meta: null, hasLogs: false, treeClusterId: null };

  test.each<{ name: string; inputs: Partial<IdentityInputs>; kind: string; clusterId?: string; mentions?: string[] }>([
    { name: 'fresh directory, empty coordinator: name a new cluster', inputs: {}, kind: 'create' },
    { name: 'fresh directory, existing cluster: join it', inputs: { treeClusterId: 'C' }, kind: 'adopt', clusterId: 'C' },
    { name: 'logs from an earlier version, existing cluster: adopt it', inputs: { hasLogs: true, treeClusterId: 'C' }, kind: 'adopt', clusterId: 'C' },
    { name: 'logs from an earlier version, empty coordinator: refuse', inputs: { hasLogs: true }, kind: 'refuse', mentions: ['/data/b1', 'no /cluster/id', 'ws://c:2181', 'Nothing was changed'] },
    { name: 'matching meta.properties: go on', inputs: { meta: { brokerId: 1, clusterId: 'C' }, treeClusterId: 'C', hasLogs: true }, kind: 'accept', clusterId: 'C' },
    { name: 'meta.properties, empty coordinator (memory store restarted): refuse', inputs: { meta: { brokerId: 1, clusterId: 'C' } }, kind: 'refuse', mentions: ['cluster C', 'no /cluster/id', '--store memory', 'Nothing was changed'] },
    { name: 'meta.properties of another cluster: refuse naming both', inputs: { meta: { brokerId: 1, clusterId: 'C' }, treeClusterId: 'D' }, kind: 'refuse', mentions: ['cluster C', 'holds cluster D'] },
    { name: 'meta.properties of another broker id: refuse naming both', inputs: { meta: { brokerId: 2, clusterId: 'C' }, treeClusterId: 'C' }, kind: 'refuse', mentions: ['belongs to broker 2', 'started with id 1', '--id 2'] },
    { name: 'another broker id wins over an empty coordinator in the message', inputs: { meta: { brokerId: 2, clusterId: 'C' } }, kind: 'refuse', mentions: ['belongs to broker 2'] },
  ])('$name', ({ inputs, kind, clusterId, mentions }) => {
    const decision = decideIdentity({ ...base, ...inputs });
    expect(decision.kind).toBe(kind);
    if (clusterId !== undefined) expect((decision as { clusterId: string }).clusterId).toBe(clusterId);
    for (const text of mentions ?? []) expect((decision as { message: string }).message).toContain(text);
  });
});
