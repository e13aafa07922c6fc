#!/usr/bin/env node
/**
 * `pstorage-server`: the standalone PStorage server on the embedded defaults (SQLite and
 * segment files under the data directory).
 *
 *   pstorage-server [--port 8000] [--host 127.0.0.1] [--data-dir ./data]
 *
 * Each flag has an environment equivalent: PSTORAGE_PORT, PSTORAGE_HOST, PSTORAGE_DATA_DIR.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createPStorage, PSTORAGE_VERSION } from '@pstorage/core'
import { startServer } from './node.js'

const USAGE = `Usage: pstorage-server [options]

Options:
  --port <n>        TCP port, 0 for any free one     (PSTORAGE_PORT, default 8000)
  --host <addr>     address to bind                  (PSTORAGE_HOST, default 127.0.0.1)
  --data-dir <dir>  where metadata and data live     (PSTORAGE_DATA_DIR, default ./data)
  -h, --help        show this help
  -v, --version     show the version
`

function fail(message: string): never {
  process.stderr.write(`pstorage-server: ${message}\n\n${USAGE}`)
  process.exit(2)
}

function parsePort(text: string): number {
  const port = Number(text)
  if (!/^\d+$/.test(text) || port > 65535) fail(`invalid port '${text}'`)
  return port
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>
  try {
    ;({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
    }))
  } catch (error) {
    fail((error as Error).message)
  }
  if (values.help) return void process.stdout.write(USAGE)
  if (values.version) return void process.stdout.write(`${PSTORAGE_VERSION}\n`)

  const env = process.env
  const port = parsePort(String(values.port ?? env.PSTORAGE_PORT ?? '8000'))
  const hostname = String(values.host ?? env.PSTORAGE_HOST ?? '127.0.0.1')
  const dataDir = resolve(String(values['data-dir'] ?? env.PSTORAGE_DATA_DIR ?? './data'))

  const pstorage = await createPStorage({ dataDir })
  const server = await startServer(pstorage, { port, hostname })
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    process.stdout.write(`Received ${signal}, shutting down\n`)
    await server.close().catch(() => undefined)
    await pstorage.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))

  // The banner comes last: whoever waits for it may signal us at once.
  const shown =
    hostname === '0.0.0.0' || hostname === '::'
      ? server.url.replace(/\/\/[^:]+|\/\/\[.*\]/, '//localhost')
      : server.url
  process.stdout.write(
    [
      `PStorage ${PSTORAGE_VERSION} listening on ${server.url}`,
      `  data directory: ${dataDir}`,
      `  API docs:       ${shown}/docs`,
      `  OpenAPI:        ${shown}/openapi.json`,
      '  Log in:         not needed yet: this build has no authentication, so it binds to',
      '                  loopback by default; do not expose it (--host) on a shared network.',
      '',
    ].join('\n'),
  )
}

main().catch((error: unknown) => {
  process.stderr.write(
    `pstorage-server: ${error instanceof Error ? error.message : String(error)}\n`,
  )
  process.exit(1)
})
