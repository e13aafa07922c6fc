import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { BIN, startServerProcess } from './server-process.js'

const run = promisify(execFile)

describe('pstorage-server bin', () => {
  it('takes its settings from the environment too, and keeps metadata in the data directory', async () => {
    const server = await startServerProcess({ env: { PSTORAGE_HOST: '127.0.0.2' } })
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/)
      expect(server.output()).toContain(`${server.url}/docs`)
      expect(server.output()).toContain(`data directory: ${server.dataDir}`)
      expect(existsSync(join(server.dataDir, 'pstorage.db'))).toBe(true)
      expect((await fetch(`${server.url}/health`)).status).toBe(200)
    } finally {
      await server.stop()
    }
  })

  it('stops cleanly on SIGTERM', async () => {
    const server = await startServerProcess()
    const exited = new Promise<number | null>((resolve) => server.child.once('exit', resolve))
    server.child.kill('SIGTERM')
    expect(await exited).toBe(0)
    await server.stop()
  })

  it('prints usage for --help and refuses bad flags with exit code 2', async () => {
    const help = await run(process.execPath, [BIN, '--help'])
    expect(help.stdout).toContain('--data-dir')
    for (const args of [['--port', 'eighty'], ['--port', '70000'], ['--bogus']]) {
      const error = await run(process.execPath, [BIN, ...args]).catch(
        (e: { code: number; stderr: string }) => e,
      )
      expect(error, args.join(' ')).toMatchObject({ code: 2 })
      expect((error as { stderr: string }).stderr).toContain('Usage: pstorage-server')
    }
    const env = await run(process.execPath, [BIN], {
      env: { ...process.env, PSTORAGE_PORT: 'x' },
    }).catch((e: { code: number }) => e)
    expect(env).toMatchObject({ code: 2 })
  })
})
