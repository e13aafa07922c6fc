/**
 * Test harness of `@pstorage/adapters-http`: a real nginx with autoindex on loopback, the
 * server this driver is tested against (`nginx` must be installed: Debian package `nginx`).
 *
 * @example
 * ```ts
 * import { startNginx } from '@pstorage/adapters-http/testing'
 * const nginx = await startNginx()
 * await writeFile(join(nginx.dir, 'a.txt'), 'hello')
 * const driver = createHttpDriver({ url: nginx.url })
 * await nginx.stop()
 * ```
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

/** Options of {@link startNginx}. */
export interface StartNginxOptions {
  /** HTTP Basic credentials required on both servers. @default none */
  readonly auth?: { readonly username: string; readonly password: string }
  /** nginx `autoindex_exact_size` of the HTML server (off: sizes like `12K`). @default true */
  readonly exactSize?: boolean
  /** How long to wait for nginx to answer. @default 10000 */
  readonly startTimeoutMs?: number
}

/** One line of the access log of {@link startNginx}. */
export interface NginxRequest {
  /** Which server answered. */
  readonly server: 'html' | 'json'
  readonly method: string
  /** The request target exactly as sent (`$request_uri`: path and query, still encoded). */
  readonly target: string
  readonly status: number
  /** The Basic user, if one was sent. */
  readonly user?: string
}

/** A running nginx; see {@link startNginx}. */
export interface NginxServer {
  /** Base URL of the HTML autoindex server, with a trailing `/`. */
  readonly url: string
  /** Base URL of the `autoindex_format json` server over the same tree. */
  readonly jsonUrl: string
  /** The served directory on disk. */
  readonly dir: string
  /** The nginx master's process id (its workers are its children). */
  readonly pid: number
  /** Every request both servers logged so far, oldest first. */
  requests(): Promise<NginxRequest[]>
  /** Stops nginx and deletes its files (including `dir`); idempotent. */
  stop(): Promise<void>
}

const SEARCH_PATH = ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin', '/sbin']

async function findNginx(): Promise<string> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...SEARCH_PATH].filter(Boolean)
  for (const dir of dirs) {
    const candidate = join(dir, 'nginx')
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate
  }
  throw new Error(
    'nginx is not installed: the HTTP driver tests need it (Debian/Ubuntu: apt-get install nginx)',
  )
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  return address.port
}

/** A path as an nginx string; refuses what nginx would read as syntax or a variable. */
function quoted(path: string): string {
  if (/["\\$;{}\n\r]/.test(path)) throw new Error('nginx paths must not contain " \\ $ ; { }')
  return `"${path}"`
}

/** RFC 2307 `{SSHA}`: salted SHA-1, which nginx's auth_basic reads natively (1.0.3+). */
function htpasswdLine(username: string, password: string): string {
  if (/[:\n\r]/.test(username)) throw new Error('username must not contain ":" or newlines')
  const salt = randomBytes(8)
  const digest = createHash('sha1').update(password).update(salt).digest()
  return `${username}:{SSHA}${Buffer.concat([digest, salt]).toString('base64')}\n`
}

function config(prefix: string, dir: string, ports: [number, number], o: StartNginxOptions) {
  const auth = o.auth
    ? `auth_basic "pstorage"; auth_basic_user_file ${quoted(join(prefix, 'htpasswd'))};`
    : ''
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `${t}_temp_path ${quoted(join(prefix, 'tmp', t))};`)
    .join('\n  ')
  return `
# As root, workers would switch to nobody and could not read a 0700 temp directory.
${process.getuid?.() === 0 ? 'user root root;' : ''}
worker_processes 1;
pid ${quoted(join(prefix, 'nginx.pid'))};
error_log ${quoted(join(prefix, 'error.log'))} warn;
events { worker_connections 256; }
http {
  types { text/plain txt; text/html html; application/json json; }
  default_type application/octet-stream;
  log_format pstorage '$server_port $request_method $request_uri $status $remote_user';
  access_log ${quoted(join(prefix, 'access.log'))} pstorage;
  ${temp}
  sendfile on;
  server {
    listen 127.0.0.1:${ports[0]};
    root ${quoted(dir)};
    autoindex on;
    autoindex_exact_size ${o.exactSize === false ? 'off' : 'on'};
    autoindex_localtime off;
    ${auth}
  }
  server {
    listen 127.0.0.1:${ports[1]};
    root ${quoted(dir)};
    autoindex on;
    autoindex_format json;
    ${auth}
  }
}
`
}

/** Resolves once nginx answers any HTTP status; rejects if it exits or takes too long. */
async function waitUntilAnswering(
  child: ChildProcess,
  url: string,
  timeoutMs: number,
  log: () => string,
) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`nginx exited (${child.exitCode ?? child.signalCode}): ${log()}`)
    const answered = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status > 0,
      () => false,
    )
    if (answered) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nginx did not answer within ${timeoutMs} ms: ${log()}`)
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM') // nginx: fast shutdown
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/**
 * Starts nginx as a child process (`nginx -p <tmp> -c <tmp>/nginx.conf -g 'daemon off;'`)
 * on 127.0.0.1 with two free ports over one temp directory: `url` serves
 * `autoindex on; autoindex_exact_size on; autoindex_localtime off;` HTML indexes, `jsonUrl`
 * `autoindex_format json`. Logs, pid and temp files stay in the temp directory; the access
 * log records each request target as sent. Resolves once nginx answers. Throws, naming the
 * Debian package, if nginx is not installed: tests must not pass by skipping.
 *
 * @example
 * ```ts
 * const nginx = await startNginx({ auth: { username: 'alice', password: 's3cret' } })
 * ```
 */
export async function startNginx(options: StartNginxOptions = {}): Promise<NginxServer> {
  const binary = await findNginx()
  const prefix = await mkdtemp(join(tmpdir(), 'pstorage-nginx-'))
  const dir = join(prefix, 'root')
  try {
    await mkdir(dir)
    for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
      await mkdir(join(prefix, 'tmp', t), { recursive: true })
    if (options.auth)
      await writeFile(
        join(prefix, 'htpasswd'),
        htpasswdLine(options.auth.username, options.auth.password),
      )
    // Another process may take a probed port before nginx binds it: retry with new ones.
    for (let attempt = 1; ; attempt++) {
      const ports: [number, number] = [await freePort(), await freePort()]
      if (ports[0] === ports[1]) continue
      const conf = join(prefix, 'nginx.conf')
      await writeFile(conf, config(prefix, dir, ports, options))
      const child = spawn(binary, ['-p', prefix, '-c', conf, '-g', 'daemon off;'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let stderr = ''
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-4000)
      })
      const url = `http://127.0.0.1:${ports[0]}/`
      const jsonUrl = `http://127.0.0.1:${ports[1]}/`
      try {
        await waitUntilAnswering(child, url, options.startTimeoutMs ?? 10_000, () => stderr)
      } catch (error) {
        await stopChild(child)
        if (attempt < 3 && stderr.includes('Address already in use')) continue
        throw error
      }
      return handle(child, prefix, dir, url, jsonUrl, ports)
    }
  } catch (error) {
    await rm(prefix, { recursive: true, force: true })
    throw error
  }
}

function handle(
  child: ChildProcess,
  prefix: string,
  dir: string,
  url: string,
  jsonUrl: string,
  ports: [number, number],
): NginxServer {
  // A crashed test run must not leave nginx holding its ports.
  const onExit = () => child.kill('SIGKILL')
  process.once('exit', onExit)
  let stopped: Promise<void> | undefined
  return Object.freeze({
    url,
    jsonUrl,
    dir,
    pid: child.pid!,
    async requests(): Promise<NginxRequest[]> {
      const log = await readFile(join(prefix, 'access.log'), 'utf8').catch(() => '')
      return log
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const [port, method = '', target = '', status = '0', user = '-'] = line.split(' ')
          const server = Number(port) === ports[1] ? ('json' as const) : ('html' as const)
          const request = { server, method, target, status: Number(status) }
          return user === '-' ? request : { ...request, user }
        })
    },
    stop() {
      stopped ??= (async () => {
        process.removeListener('exit', onExit)
        await stopChild(child)
        await rm(prefix, { recursive: true, force: true })
      })()
      return stopped
    },
  })
}
