import { spawn } from 'node:child_process'
import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { createServer } from 'node:net'
import { delimiter, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { PORTMAP_PORT, PORTMAP_PROGRAM, PORTMAP_VERSION } from '../rpc/portmap.js'
import { RpcClient } from '../rpc/rpc-client.js'

/** Where Debian installs daemons, in case PATH lacks the sbin directories. */
const EXTRA_PATH = ['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin']

/**
 * The path of `name` on PATH or in the sbin directories, or an error naming the Debian
 * package to install.
 *
 * @example
 * ```ts
 * const ganesha = await findBinary('ganesha.nfsd', 'nfs-ganesha')
 * ```
 */
export async function findBinary(name: string, debianPackage: string): Promise<string> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_PATH].filter(Boolean)
  for (const dir of dirs) {
    const file = join(dir, name)
    if (
      await access(file, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return file
  }
  throw new Error(
    `${name} not found: install the Debian package ${debianPackage} (apt-get install ${debianPackage})`,
  )
}

/**
 * One RPC NULL call on loopback: true if something speaking `program` answers on `port`.
 *
 * @example
 * ```ts
 * await answers(111, 100000, 2) // a portmapper is up
 * ```
 */
export async function answers(port: number, program: number, version: number): Promise<boolean> {
  const rpc = new RpcClient({
    host: '127.0.0.1',
    port,
    program,
    version,
    label: 'probe',
    timeoutMs: 2000,
  })
  try {
    await rpc.call(0)
    return true
  } catch {
    return false
  } finally {
    await rpc.close()
  }
}

/**
 * Makes sure a portmapper answers on 127.0.0.1:111, starting `rpcbind -w` if none does.
 * rpcbind daemonizes and is left running: it is a host-wide service (port 111) that the
 * system's own one would provide, shared by every ganesha the tests start.
 *
 * @example
 * ```ts
 * await ensureRpcbind()
 * ```
 */
export async function ensureRpcbind(): Promise<void> {
  if (await answers(PORTMAP_PORT, PORTMAP_PROGRAM, PORTMAP_VERSION)) return
  const rpcbind = await findBinary('rpcbind', 'rpcbind')
  // Two test files may race here: the loser's rpcbind fails to bind and exits; fine.
  await new Promise<void>((resolve) => {
    const child = spawn(rpcbind, ['-w'], { stdio: 'ignore' })
    child.once('error', () => resolve())
    child.once('exit', () => resolve())
  })
  for (let i = 0; i < 50; i++) {
    if (await answers(PORTMAP_PORT, PORTMAP_PROGRAM, PORTMAP_VERSION)) return
    await sleep(100)
  }
  throw new Error('rpcbind did not start on port 111 (is another service using it?)')
}

/**
 * A TCP port free on 127.0.0.1 right now (another process may take it before use).
 *
 * @example
 * ```ts
 * const port = await freePort()
 * ```
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      )
    })
  })
}
