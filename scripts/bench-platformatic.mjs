// @platformatic/kafka's side of `make bench` (ESM only, so a child process of the CommonJS bench:
// scripts/bench-platformatic.ts). Prints one JSON line with what it measured.
//   node bench-platformatic.mjs produce <bootstrap> <topic> <records> <recordBytes> <acks> <partitions> <batchBytes> <inFlight> <capMs>
//     → { sent, errors, seconds, latencies: one per 100 records (ms) }
//   node bench-platformatic.mjs consume <bootstrap> <topic> <records> <capMs>
//     → { seen, seconds }: from the stream being ready (group joined) to the last record read
import { Consumer, Producer } from '@platformatic/kafka'
import { performance } from 'node:perf_hooks'

const [mode, bootstrap, topic, ...rest] = process.argv.slice(2)

async function produce ([records, recordBytes, acks, partitions, batchBytes, inFlight, capMs]) {
  const producer = new Producer({ clientId: 'bench', bootstrapBrokers: [bootstrap], autocreateTopics: false })
  const value = Buffer.alloc(recordBytes, 0x61)
  const perSend = Math.max(1, Math.floor(batchBytes / (recordBytes + 10)))
  const latencies = []
  let sent = 0
  let queued = 0
  let errors = 0
  let partition = 0
  // One send before the clock starts: metadata and connections (kafkajs's connect() does the same).
  await producer.send({ messages: [{ topic, value, partition: 0 }], acks })
  const started = performance.now()
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (queued < records && performance.now() - started < capMs) {
      const n = Math.min(perSend, records - queued)
      queued += n
      const at = performance.now()
      try {
        await producer.send({ messages: Array.from({ length: n }, () => ({ topic, value, partition: partition++ % partitions })), acks })
      } catch (error) {
        errors += n
        process.stderr.write(`bench: platformatic send failed: ${error.message}\n`)
        continue
      }
      const latency = performance.now() - at
      for (let i = 0; i < n; i += 100) latencies.push(latency)
      sent += n
    }
  }))
  const seconds = (performance.now() - started) / 1000
  await producer.close()
  return { sent, errors, seconds, latencies }
}

async function consume ([records, capMs]) {
  const consumer = new Consumer({ groupId: `bench-${topic}-${process.pid}`, clientId: 'bench', bootstrapBrokers: [bootstrap], maxWaitTime: 500, autocommit: false })
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest' })
  const started = performance.now()
  let seen = 0
  const cap = setTimeout(() => stream.close(), capMs)
  for await (const message of stream) { // eslint-disable-line no-unused-vars
    if (++seen >= records) break
  }
  clearTimeout(cap)
  const seconds = (performance.now() - started) / 1000
  await consumer.close(true)
  return { seen, seconds }
}

const numbers = rest.map(Number)
const out = mode === 'produce' ? await produce(numbers) : await consume(numbers)
process.stdout.write(JSON.stringify(out) + '\n')
