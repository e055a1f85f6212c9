/**
 * Node/V8 flags every broker process is started with (the make targets, scripts/cluster.sh,
 * the chaos run, the benchmarks and the tests all take them from here), as Kafka's start
 * script gives its JVM heap settings.
 *
 * --initial-old-space-size=64: V8 sizes the old generation's first collection limits from the
 * heap it starts with, and a broker's heap is small (12–16 MB live): under a bulk write V8
 * kept starting incremental marking and ran several mark-compacts a second (`--trace-gc`:
 * 54 in one RF 3 1 KiB acks=all produce of 200,000 records, 11–19 ms pauses each on two
 * shared cores), where with a 64 MB start it ran 8 and the produce made 105,000–126,000
 * records/s instead of 73,000–92,000 (README, "Measured"). The cost is up to that much more
 * garbage held before the first major collection. It cannot be set from inside the process
 * (v8.setFlagsFromString after start changes nothing: the heap is configured at isolate
 * creation), hence a flag on the command line.
 */
export const BROKER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/** The Node flags for `samsa <args>`: BROKER_NODE_FLAGS for a broker, none otherwise. */
export function nodeFlagsFor(args: readonly string[]): readonly string[] {
  return args[0] === 'broker' ? BROKER_NODE_FLAGS : [];
}
