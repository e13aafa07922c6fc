/**
 * The crash-test child: opens the engine on argv[2] and writes under load (4 concurrent
 * writers, group commit, background GC) until it is killed. Each write is announced on
 * stdout before it is issued (`begin id offset blocks seed`) and reported once the
 * engine acknowledged it (`ack id`), so the parent knows what must have survived.
 */
import { isPStorageError } from '@pstorage/core'
import { createFlashEngine } from '../../src/index.js'
import { CRASH_ENGINE, REGION_BLOCKS, writeContent } from './workload.js'

const [dataDir, seedArg] = process.argv.slice(2)
if (!dataDir || !seedArg) throw new Error('usage: crash-writer <dataDir> <seed>')
let state = Number(seedArg) >>> 0 || 1
const random = (n: number) => {
  state ^= state << 13
  state ^= state >>> 17
  state ^= state << 5
  return (state >>> 0) % n
}
const say = (line: string) => process.stdout.write(`${line}\n`)

const engine = await createFlashEngine({ dataDir, ...CRASH_ENGINE })
await engine.createVolume('v', REGION_BLOCKS * 4096).catch((e: unknown) => {
  if (!isPStorageError(e, 'conflict')) throw e
})
say('ready')

const busy = new Set<number>()
let nextId = Number(seedArg) * 100_000
let snapshots = 0
async function writer(): Promise<never> {
  for (;;) {
    const blocks = 1 + random(4)
    const first = random(REGION_BLOCKS - blocks + 1)
    const range = Array.from({ length: blocks }, (_, i) => first + i)
    // Never two writes in flight on one block: the parent's model stays unambiguous.
    if (range.some((b) => busy.has(b))) {
      await new Promise((r) => setImmediate(r))
      continue
    }
    for (const b of range) busy.add(b)
    const id = nextId++
    const seed = 1 + random(1_000_000)
    say(`begin ${id} ${first} ${blocks} ${seed}`)
    try {
      await engine.write('v', first * 4096, writeContent(seed, blocks))
      say(`ack ${id}`)
    } catch (error) {
      say(`fail ${id} ${isPStorageError(error) ? error.code : 'error'}`)
    } finally {
      for (const b of range) busy.delete(b)
    }
    // Now and then a snapshot (the parent deletes them): reference counts under crashes.
    if (random(40) === 0) {
      const name = `s-${seedArg}-${snapshots++}`
      await engine.createSnapshot('v', name)
      say(`snapshot ${name}`)
    }
  }
}
await Promise.all([writer(), writer(), writer(), writer()])
