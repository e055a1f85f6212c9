/**
 * TreeSnapshot (tree.ts): a snapshot read a chunk at a time while the tree keeps changing gives
 * exactly the tree as it was when it began, once loaded (DataTree.fromRecords, where a later
 * record of a path wins). Seeded random workloads interleave reads with creates, deletes,
 * setData, setACL and multis (committed and rolled back); the seed is in the test's name.
 */
import { READ_ACL } from '../../../shared/coordinator/acl';
import type { ZnodeRecord } from '../../../coordinator/core-api';
import { DataTree } from '../../../coordinator/tree';

const canonical = (records: ZnodeRecord[]) =>
  records
    .map((record) => ({ ...record, data: Buffer.from(record.data).toString('hex') }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
}

/** One random change that keeps the tree's preconditions (parents exist, deletes hit leaves). */
function change(tree: DataTree, random: (n: number) => number, zxid: number): void {
  const paths = tree.records().map((record) => record.path).filter((path) => !path.startsWith('/zookeeper'));
  const path = paths[random(paths.length)]!;
  const node = tree.get(path)!;
  switch (random(4)) {
    case 0: {
      const child = `${path === '/' ? '' : path}/c${random(6)}`;
      if (tree.get(child) === undefined && node.ephemeralOwner === '0') tree.create(child, Buffer.from(`new ${zxid}`), random(5) === 0 ? 's1' : '0', false, zxid, zxid);
      return;
    }
    case 1:
      if (path !== '/' && node.children.size === 0) tree.delete(path, zxid);
      return;
    case 2:
      tree.setData(path, Buffer.from([zxid & 255, random(256)]), zxid, zxid);
      return;
    default:
      tree.setAcl(path, tree.acls.intern(READ_ACL));
  }
}

function treeOf(nodes: number, random: (n: number) => number): DataTree {
  const tree = new DataTree();
  tree.create('/a', Buffer.from('a'), '0', false, 1, 1);
  tree.create('/a/b', Buffer.from('b'), '0', false, 2, 2);
  for (let i = 0; i < nodes; i++) {
    const parent = ['', '/a', '/a/b'][random(3)]!;
    tree.create(`${parent}/n${i}`, Buffer.from(`data ${i}`), '0', false, i + 3, i + 3);
  }
  return tree;
}

describe('TreeSnapshot', () => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: read while the tree changes, it loads as the tree at its start', (seed) => {
    const random = seeded(seed);
    const tree = treeOf(60, random);
    const expected = canonical(tree.records());
    const snapshot = tree.beginSnapshot(62); // treeOf's last zxid; the changes come after
    const read: ZnodeRecord[] = [];
    let zxid = 1000;
    for (let round = 0; round < 1000; round++) {
      const chunk = snapshot.next(1 + random(4), 1 << 20);
      if (chunk.length === 0) break;
      read.push(...chunk);
      for (let step = random(6); step > 0; step--) {
        if (random(5) === 0) {
          // A multi: its changes are saved before the first one, rolled back or kept.
          tree.begin();
          for (let inner = 1 + random(3); inner > 0; inner--) change(tree, random, ++zxid);
          if (random(2) === 0) tree.rollback();
          else tree.commit();
        } else {
          change(tree, random, ++zxid);
        }
      }
    }
    snapshot.close();
    expect(canonical(DataTree.fromRecords(read).records())).toEqual(expected);
    // The tree did change meanwhile (the test would prove nothing otherwise).
    expect(canonical(tree.records())).not.toEqual(expected);
  });

  test('chunks stop at nodesMax or bytesMax, with at least one record; one snapshot at a time', () => {
    const tree = new DataTree();
    for (let i = 0; i < 10; i++) tree.create(`/n${i}`, Buffer.alloc(1000), '0', false, i + 1, 1);
    const snapshot = tree.beginSnapshot(10);
    expect(() => tree.beginSnapshot(10)).toThrow('a tree snapshot is already being taken');
    expect(snapshot.next(3, 1 << 20)).toHaveLength(3);
    expect(snapshot.next(100, 1)).toHaveLength(1);
    expect(snapshot.next(100, 2500)).toHaveLength(3);
    const rest = snapshot.next(100, 1 << 20);
    expect(rest.length).toBe(tree.size - 7);
    expect(snapshot.next(100, 1 << 20)).toEqual([]);
    snapshot.close();
    expect(() => snapshot.next(1, 1)).toThrow('read of a closed tree snapshot');
    // Closed: changes cost nothing more and another snapshot can begin.
    tree.setData('/n1', Buffer.from('x'), 99, 2);
    tree.beginSnapshot(99).close();
  });
});
