import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ApiError, PStorageClient } from '@pstorage/client'
import { expect } from 'vitest'

/** The password of `admin` on test servers (set through PSTORAGE_ADMIN_PASSWORD). */
export const ADMIN_PASSWORD = 'e2e-admin-password'

/** The built `pstorage-server` bin. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

/** The bin's `#!` line, `env -S [NAME=value ...] node <flags>`: the server runs as shipped. */
const LAUNCH =
  /^#!\/usr\/bin\/env -S(?<env>(?: [A-Z_]+=\S+)*) node(?<flags>(?: --[\w-]+(?:=\S+)?)*)\n/.exec(
    readFileSync(BIN, 'utf8'),
  )?.groups

/** The node flags of the bin's `#!` line. */
export const BIN_NODE_FLAGS: readonly string[] = words(LAUNCH?.flags)

/** The environment the bin's `#!` line sets (glibc's malloc tuning). */
export const BIN_NODE_ENV: Readonly<Record<string, string>> = Object.fromEntries(
  words(LAUNCH?.env).map((pair) => [
    pair.slice(0, pair.indexOf('=')),
    pair.slice(pair.indexOf('=') + 1),
  ]),
)

function words(text: string | undefined): string[] {
  return (text ?? '').trim().split(' ').filter(Boolean)
}

/** A `pstorage-server` child process on a free loopback port with its own data directory. */
export interface ServerProcess {
  readonly url: string
  readonly dataDir: string
  readonly child: ChildProcess
  /** Output so far, for assertions and failure messages. */
  output(): string
  stop(): Promise<void>
}

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  readonly args?: string[]
  readonly env?: NodeJS.ProcessEnv
  /** Reuse this data directory (a restart); it is then kept on `stop()`. */
  readonly dataDir?: string
}

/** Starts the real bin (`--port 0`) and waits for the URL it prints. */
export async function startServerProcess(
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const { args = [], env = {} } = options
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'pstorage-e2e-'))
  const child = spawn(
    process.execPath,
    [...BIN_NODE_FLAGS, BIN, '--port', '0', '--data-dir', dataDir, ...args],
    {
      // Rate limits stay off unless a test turns them on: tests make many calls quickly.
      env: {
        ...process.env,
        ...BIN_NODE_ENV,
        PSTORAGE_ADMIN_PASSWORD: ADMIN_PASSWORD,
        PSTORAGE_RATE_LIMIT: 'off',
        PSTORAGE_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15_000)
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }
    child.stdout.on('data', check)
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)))
  })
  return {
    url,
    dataDir,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** A client logged in as `admin` on `url`. */
export async function adminClient(url: string): Promise<PStorageClient> {
  const client = new PStorageClient({ baseUrl: url, retries: 0 })
  await client.login({ username: 'admin', password: ADMIN_PASSWORD })
  return client
}

/** The `ApiError` a call rejects with (fails the test if it resolves); it carries a request id. */
export async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ApiError)
  const failure = error as ApiError
  expect(failure.requestId, 'every error carries a request id').toMatch(/\S/)
  return failure
}
