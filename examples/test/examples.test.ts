import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ADMIN_PASSWORD,
  adminClient,
  type ServerProcess,
  startServerProcess,
} from '../../packages/server-hono/test/server-process.js'

const run = promisify(execFile)
const example = (name: string) => fileURLToPath(new URL(`../${name}`, import.meta.url))

/** Runs an example as a user would: `node examples/<name>.ts` (Node strips the types). */
async function runExample(name: string, env: NodeJS.ProcessEnv = {}) {
  const { stdout } = await run(process.execPath, [example(name)], {
    env: { ...process.env, ...env },
  })
  return stdout
}

describe('examples', () => {
  it('embed.ts uses PStorage as a library', async () => {
    const out = await runExample('embed.ts')
    expect(out).toContain('Read back: Hello World!')
    expect(out).toContain('After restoring before-change: Hello World!')
    expect(out).toMatch(/Refused as expected: bad_request: Offset must be aligned/)
  })

  describe('client.ts against a running server', () => {
    let server: ServerProcess
    beforeAll(async () => {
      server = await startServerProcess()
    })
    afterAll(() => server?.stop())

    it('creates a volume, writes "Hello World!", reads it back and cleans up', async () => {
      const out = await runExample('client.ts', {
        PSTORAGE_URL: server.url,
        PSTORAGE_PASSWORD: ADMIN_PASSWORD,
      })
      expect(out).toContain('Logged in as admin')
      expect(out).toContain('Server is healthy')
      expect(out).toContain('Read back: Hello World!')
      expect(out).toMatch(/Refused as expected: 400 bad_request/)
      expect((await (await adminClient(server.url)).listVolumes()).total).toBe(0)
    })
  })
})
