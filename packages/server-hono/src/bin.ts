#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=2 --max-old-space-size=512 --expose-gc
/**
 * `pstorage-server`: the standalone PStorage server on the embedded defaults (SQLite and
 * segment files under the data directory). Run with `--help` for its flags; each has an
 * environment equivalent.
 *
 * The `#!` line caps V8's young generation at 2 MiB per semi-space: the server moves bulk
 * data in short-lived chunks, and the default (16 MiB) let a 2 GiB upload hold ~80 MB of
 * dead chunks between scavenges (135 MB peak RSS instead of 198 MB, same throughput). It
 * also exposes `gc`, so file transfers ask for a young collection every few MiB moved
 * (gc-assist.ts: 15–50 MB off the peak of `pnpm bench:backends`). `npm start`, the tests
 * and the benchmarks start it with the same flags (read from this line).
 */
import { delimiter, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createPStorage, PSTORAGE_VERSION } from '@pstorage/core'
import { createFlashEngine } from '@pstorage/engine'
import pino from 'pino'
import { BACKEND_TYPE_HANDLERS } from './backend-types.js'
import { startServer } from './node.js'
import { type RateLimits, rateLimitsFromEnv } from './security/rate-limit.js'

const USAGE = `Usage: pstorage-server [options]

Options:
  --port <n>                TCP port, 0 for any free one       (PSTORAGE_PORT, default 8000)
  --host <addr>             address to bind                    (PSTORAGE_HOST, default 127.0.0.1)
  --data-dir <dir>          where metadata and data live       (PSTORAGE_DATA_DIR, default ./data)
  --cors-origin <origin>    allow browser calls from an origin (PSTORAGE_CORS_ORIGINS, comma-separated;
                            repeatable; default: CORS off)
  --rate-limit-general <n>  requests per minute per caller     (PSTORAGE_RATE_LIMIT_GENERAL, default 100)
  --rate-limit-login <n>    login attempts per minute          (PSTORAGE_RATE_LIMIT_LOGIN, default 5 per 5 min)
  --rate-limit-upload <n>   uploads per minute                 (PSTORAGE_RATE_LIMIT_UPLOAD, default 3)
  --no-rate-limit           no rate limits, for labs and rigs  (PSTORAGE_RATE_LIMIT=off)
  --log-level <level>       fatal, error, warn, info, debug    (PSTORAGE_LOG_LEVEL, default info)
  --allow-private-addresses let backends reach loopback and private networks
                                                               (PSTORAGE_ALLOW_PRIVATE_ADDRESSES=true;
                                                               default: refused, see the README)
  --local-backend-root <dir> where 'local' backends may live  (PSTORAGE_LOCAL_BACKEND_ROOTS, ':'-separated;
                            repeatable; default <data-dir>/backends)
  --backend-check-interval <s> backend health check period   (PSTORAGE_BACKEND_CHECK_INTERVAL, default 60;
                            0 turns it off)
  -h, --help                show this help
  -v, --version             show the version

First run: with no user yet, the server creates 'admin' with the password in
PSTORAGE_ADMIN_PASSWORD, or generates one and prints it once.
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

type Flags = Record<string, string | string[] | boolean | undefined>

function parseFlags(): Flags {
  try {
    return parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        'cors-origin': { type: 'string', multiple: true },
        'rate-limit-general': { type: 'string' },
        'rate-limit-login': { type: 'string' },
        'rate-limit-upload': { type: 'string' },
        'no-rate-limit': { type: 'boolean' },
        'log-level': { type: 'string' },
        'allow-private-addresses': { type: 'boolean' },
        'local-backend-root': { type: 'string', multiple: true },
        'backend-check-interval': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
    }).values
  } catch (error) {
    fail((error as Error).message)
  }
}

/** Flags win over the environment: a flag is folded into the variable it stands for. */
function settings(flags: Flags, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const merged = { ...env }
  const set = (flag: string, name: string) => {
    if (typeof flags[flag] === 'string') merged[name] = flags[flag] as string
  }
  set('rate-limit-general', 'PSTORAGE_RATE_LIMIT_GENERAL')
  set('rate-limit-login', 'PSTORAGE_RATE_LIMIT_LOGIN')
  set('rate-limit-upload', 'PSTORAGE_RATE_LIMIT_UPLOAD')
  set('log-level', 'PSTORAGE_LOG_LEVEL')
  set('backend-check-interval', 'PSTORAGE_BACKEND_CHECK_INTERVAL')
  if (flags['allow-private-addresses']) merged.PSTORAGE_ALLOW_PRIVATE_ADDRESSES = 'true'
  const roots = flags['local-backend-root']
  if (Array.isArray(roots)) merged.PSTORAGE_LOCAL_BACKEND_ROOTS = roots.join(delimiter)
  if (flags['no-rate-limit']) merged.PSTORAGE_RATE_LIMIT = 'off'
  const origins = flags['cors-origin']
  if (Array.isArray(origins)) merged.PSTORAGE_CORS_ORIGINS = origins.join(',')
  return merged
}

async function main(): Promise<void> {
  const flags = parseFlags()
  if (flags.help) return void process.stdout.write(USAGE)
  if (flags.version) return void process.stdout.write(`${PSTORAGE_VERSION}\n`)

  const env = settings(flags, process.env)
  const port = parsePort(String(flags.port ?? env.PSTORAGE_PORT ?? '8000'))
  const hostname = String(flags.host ?? env.PSTORAGE_HOST ?? '127.0.0.1')
  const dataDir = resolve(String(flags['data-dir'] ?? env.PSTORAGE_DATA_DIR ?? './data'))
  const level = env.PSTORAGE_LOG_LEVEL ?? 'info'
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level))
    fail(`invalid log level '${level}'`)
  let rateLimits: RateLimits | false
  try {
    rateLimits = rateLimitsFromEnv(env)
  } catch (error) {
    fail((error as Error).message)
  }
  const corsOrigins = (env.PSTORAGE_CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)

  const interval = env.PSTORAGE_BACKEND_CHECK_INTERVAL ?? '60'
  if (!/^\d{1,7}$/.test(interval)) fail(`invalid backend check interval '${interval}'`)
  const localRoots = (env.PSTORAGE_LOCAL_BACKEND_ROOTS ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((root) => resolve(root))

  const logger = pino({ level, base: { service: 'pstorage' } })
  // The embedded default: SQLite metadata and the flash engine's segment files in dataDir.
  const engine = await createFlashEngine({ dataDir: join(dataDir, 'engine') })
  const pstorage = await createPStorage({
    dataDir,
    env,
    engine,
    backendTypes: BACKEND_TYPE_HANDLERS,
    backendHealthCheckIntervalMs: Number(interval) * 1000,
    ...(localRoots.length > 0 && { localBackendRoots: localRoots }),
    onBackgroundError: (error) => logger.warn({ err: error }, 'backend health check failed'),
  })
  const admin = await pstorage.identity.users.ensureAdmin(
    env.PSTORAGE_ADMIN_PASSWORD ? { password: env.PSTORAGE_ADMIN_PASSWORD } : {},
  )
  const server = await startServer(pstorage, { port, hostname, logger, rateLimits, corsOrigins })

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
  const login = admin.created
    ? admin.generatedPassword
      ? [
          `  Log in:         created user 'admin' with password ${admin.generatedPassword}`,
          '                  (shown only now: change it with POST /api/v1/users/{id}/password)',
        ]
      : ["  Log in:         created user 'admin' with the password in PSTORAGE_ADMIN_PASSWORD"]
    : ['  Log in:         POST /api/v1/auth/login with your username and password']
  process.stdout.write(
    [
      `PStorage ${PSTORAGE_VERSION} listening on ${server.url}`,
      `  data directory: ${dataDir}`,
      `  API docs:       ${shown}/docs`,
      `  OpenAPI:        ${shown}/openapi.json`,
      ...login,
      rateLimits ? '' : '  Rate limits:    off',
      '',
    ]
      .filter((line, i, all) => line !== '' || i === all.length - 1)
      .join('\n'),
  )
}

main().catch((error: unknown) => {
  process.stderr.write(
    `pstorage-server: ${error instanceof Error ? error.message : String(error)}\n`,
  )
  process.exit(1)
})
