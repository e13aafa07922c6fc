import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { BLOCK_SIZE, isPStorageError } from '@pstorage/core'
import { describe, expect, it } from 'vitest'
import { createFlashEngine } from '../src/index.js'
import { CRASH_ENGINE, REGION_BLOCKS, writeContent } from './crash/workload.js'
import { tempDir } from './helpers.js'

const ROUNDS = 50
const resolver = fileURLToPath(new URL('./crash/ts-resolve.ts', import.meta.url))
const writer = fileURLToPath(new URL('./crash/crash-writer.ts', import.meta.url))

interface Write {
  readonly first: number
  readonly blocks: number
  readonly seed: number
}

/** What one child did before it died, as it reported on stdout. */
interface Round {
  readonly acked: Write[]
  readonly inflight: Map<string, Write>
  readonly snapshots: string[]
  ready: boolean
}

/** Applies a write to the model of the volume (4 KiB arrays, merged like the engine). */
function apply(model: Uint8Array[], write: Write): void {
  const data = writeContent(write.seed, write.blocks)
  for (let i = 0; i < write.blocks; i++) {
    const next = Uint8Array.from(model[write.first + i]!)
    next.set(data.subarray(i * BLOCK_SIZE, Math.min((i + 1) * BLOCK_SIZE, data.length)))
    model[write.first + i] = next
  }
}

/** Spawns the writer, kills it with SIGKILL at a random moment, returns its reports. */
async function runChild(dataDir: string, seed: number, random: () => number): Promise<Round> {
  const round: Round = { acked: [], inflight: new Map(), snapshots: [], ready: false }
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', resolver, writer, dataDir, String(seed)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  let buffer = ''
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (chunk: string) => {
    buffer += chunk
    const lines = buffer.split('\n')
    buffer = lines.pop() ?? '' // a line cut by the kill is not a report
    for (const line of lines) {
      const [kind, id = '', ...rest] = line.split(' ')
      if (kind === 'ready') round.ready = true
      else if (kind === 'begin') {
        const [first, blocks, s] = rest.map(Number)
        round.inflight.set(id, { first: first!, blocks: blocks!, seed: s! })
      } else if (kind === 'ack') {
        round.acked.push(round.inflight.get(id)!)
        round.inflight.delete(id)
      } else if (kind === 'fail') round.inflight.delete(id)
      else if (kind === 'snapshot') round.snapshots.push(id)
    }
  })
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()))
  // Most kills land under write load; some during start-up and recovery.
  const early = random() < 0.15
  if (!early) await waitFor(() => round.ready, 10_000)
  await new Promise((r) => setTimeout(r, early ? random() * 250 : 30 + random() * 250))
  child.kill('SIGKILL')
  await exited
  return round
}

async function waitFor(test: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!test()) {
    if (Date.now() > until) throw new Error('the crash writer did not start')
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('durability under SIGKILL', () => {
  it(`keeps every acknowledged write across ${ROUNDS} crashes, and fsck stays clean`, async () => {
    const dir = tempDir('pstorage-crash-')
    let x = 12345
    const random = () => {
      x = (x * 1103515245 + 12345) % 2147483648
      return x / 2147483648
    }
    const model = Array.from({ length: REGION_BLOCKS }, () => new Uint8Array(BLOCK_SIZE))
    let acked = 0
    let tornRounds = 0
    let erased = 0
    let committedInflight = 0
    let keep: string | undefined
    try {
      for (let r = 0; r < ROUNDS; r++) {
        const round = await runChild(dir.path, r + 1, random)
        for (const write of round.acked) apply(model, write)
        acked += round.acked.length
        const engine = await createFlashEngine({ dataDir: dir.path, ...CRASH_ENGINE })
        try {
          const details = await engine.flashDetails()
          if (details.recovery.torn_bytes_discarded > 0) tornRounds++
          erased = details.garbage_collection.segments_erased
          // Only a first child killed before creating the volume leaves none.
          const actual = await engine
            .read('v', 0, REGION_BLOCKS * BLOCK_SIZE)
            .catch((e: unknown) => {
              if (r === 0 && isPStorageError(e, 'not_found'))
                return new Uint8Array(REGION_BLOCKS * BLOCK_SIZE)
              throw e
            })
          const block = (i: number) => actual.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE)
          // An unacknowledged write may have landed, but only whole (one transaction).
          const pending = new Set<number>()
          for (const write of round.inflight.values()) {
            const candidate = model.slice()
            apply(candidate, write)
            const range = Array.from({ length: write.blocks }, (_, i) => write.first + i)
            const landed = range.every((i) => Buffer.from(block(i)).equals(candidate[i]!))
            const absent = range.every((i) => Buffer.from(block(i)).equals(model[i]!))
            expect(landed || absent, `write ${JSON.stringify(write)} landed partly`).toBe(true)
            if (landed && !absent) {
              apply(model, write)
              committedInflight++
            }
            for (const i of range) pending.add(i)
          }
          for (let i = 0; i < REGION_BLOCKS; i++) {
            if (!pending.has(i))
              expect(Buffer.from(block(i)).equals(model[i]!), `block ${i} after round ${r}`).toBe(
                true,
              )
          }
          expect(await engine.fsck()).toEqual([])
          // Drop the snapshots of this round but the last, and the one kept before.
          for (const name of [...(keep ? [keep] : []), ...round.snapshots.slice(0, -1)]) {
            await engine.deleteSnapshot(name).catch((e: unknown) => {
              if (!isPStorageError(e, 'not_found')) throw e
            })
          }
          keep = round.snapshots.at(-1)
        } finally {
          await engine.close()
        }
      }
      // The test is only meaningful if the kills hit real work.
      console.info(
        `crash test: ${acked} acknowledged writes, ${committedInflight} unacknowledged but committed, torn tails in ${tornRounds}/${ROUNDS} rounds, ${erased} segments erased by GC`,
      )
      expect(acked).toBeGreaterThan(ROUNDS * 5)
      expect(tornRounds).toBeGreaterThan(0)
      expect(erased).toBeGreaterThan(0)
    } finally {
      dir.remove()
    }
  }, 150_000)
})
