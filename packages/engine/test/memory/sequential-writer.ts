/**
 * Child of memory.test.ts: writes `argv[3]` MiB of incompressible data in 4 MiB sequential
 * writes, then prints the bytes of ArrayBuffers still alive after a full GC.
 */
import { createCipheriv } from 'node:crypto'
import { createFlashEngine } from '../../src/index.js'

const [dataDir, mibArg] = process.argv.slice(2)
const total = Number(mibArg) * 1024 * 1024
const engine = await createFlashEngine({ dataDir: dataDir!, backgroundMaintenance: false })
await engine.createVolume('v', total)
const noise = createCipheriv('aes-128-ctr', Buffer.alloc(16, 3), Buffer.alloc(16, 4))
for (let at = 0; at < total; at += 4 << 20)
  await engine.write('v', at, noise.update(Buffer.alloc(4 << 20)))
;(globalThis as { gc?: () => void }).gc?.()
process.stdout.write(`${JSON.stringify({ arrayBuffers: process.memoryUsage().arrayBuffers })}\n`)
await engine.close()
