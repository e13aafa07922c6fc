import { createCipheriv } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { createFlashEngine } from './dist/index.js'

const e = await createFlashEngine({ dataDir: mkdtempSync('/tmp/probe-') })
await e.createVolume('v', 1 << 30)
const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 1), Buffer.alloc(16, 2))
const mb = (n: number) => (n / 1048576).toFixed(0)
for (let i = 0; i < 256; i++) {
  await e.write('v', i * (4 << 20), cipher.update(Buffer.alloc(4 << 20)))
  if (i % 32 === 31) {
    const m = process.memoryUsage()
    console.log(
      `${(i + 1) * 4} MiB written: rss ${mb(m.rss)} heap ${mb(m.heapUsed)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)}`,
    )
  }
}
global.gc?.()
const m = process.memoryUsage()
console.log(`after gc: rss ${mb(m.rss)} heap ${mb(m.heapUsed)} external ${mb(m.external)}`)
await e.close()
