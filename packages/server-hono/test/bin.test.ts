import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PStorageClient } from '@pstorage/client'
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

  it('creates admin on first run with a generated password printed once, and never again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pstorage-first-run-'))
    try {
      const first = await startServerProcess({ dataDir, env: { PSTORAGE_ADMIN_PASSWORD: '' } })
      const password = /created user 'admin' with password (\S+)/.exec(first.output())?.[1]
      expect(password, first.output()).toMatch(/^.{16,}$/)
      const client = new PStorageClient({ baseUrl: first.url, retries: 0 })
      await client.login({ username: 'admin', password: password! })
      expect((await client.getMe()).role).toBe('admin')
      await first.stop()
      const second = await startServerProcess({ dataDir, env: { PSTORAGE_ADMIN_PASSWORD: '' } })
      expect(second.output()).not.toContain(password!)
      expect(second.output()).toContain('POST /api/v1/auth/login')
      await second.stop()
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('takes rate limits from the environment (and flags), with headers and 429', async () => {
    const server = await startServerProcess({
      env: { PSTORAGE_RATE_LIMIT: '', PSTORAGE_RATE_LIMIT_GENERAL: '2' },
    })
    try {
      const statuses = []
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${server.url}/health`)
        statuses.push(response.status)
        expect(response.headers.get('x-ratelimit-limit')).toBe('2')
      }
      expect(statuses).toEqual([200, 200, 429])
    } finally {
      await server.stop()
    }
    const flagged = await startServerProcess({
      args: ['--rate-limit-general', '1'],
      env: { PSTORAGE_RATE_LIMIT: '' },
    })
    try {
      expect((await fetch(`${flagged.url}/health`)).status).toBe(200)
      expect((await fetch(`${flagged.url}/health`)).status).toBe(429)
    } finally {
      await flagged.stop()
    }
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
  }, 60_000) // five process starts: slow on a loaded machine
})
