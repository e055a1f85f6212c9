/**
 * Purgatory.countBy, behind kafka_server_delayedoperationpurgatory_purgatorysize: each waiting
 * operation counted once (whatever number of keys it watches), completed ones not at all.
 */
import { DelayedOperation, Purgatory, Scheduler } from '../../../broker/purgatory';

/** Deadlines never run: the operations stay until an event or shutdown. */
const never: Scheduler = { schedule: () => () => undefined };

class Waiting implements DelayedOperation<string> {
  constructor(
    readonly keys: string[],
    readonly kind: string,
  ) {}
  onEvent(_key: string, event: string): boolean {
    return event === this.kind;
  }
  complete(): void {}
}

test('counts waiting operations per kind, once each', () => {
  const purgatory = new Purgatory<string>('test', never);
  purgatory.wait(new Waiting(['t/0', 't/1', 't/2'], 'Fetch'), 1000);
  purgatory.wait(new Waiting(['t/0'], 'Fetch'), 1000);
  purgatory.wait(new Waiting(['t/1'], 'Produce'), 1000);
  const kind = (operation: DelayedOperation<string>) => (operation as Waiting).kind;
  expect(purgatory.countBy(kind)).toEqual(new Map([['Fetch', 2], ['Produce', 1]]));
  purgatory.notify('t/0', 'Fetch'); // both fetches complete
  expect(purgatory.countBy(kind)).toEqual(new Map([['Produce', 1]]));
  purgatory.shutdown();
  expect(purgatory.countBy(kind).size).toBe(0);
});
