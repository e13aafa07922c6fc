import { createSemaphore, type TargetState } from '@pstorage/core'
import { iscsiError } from './runner-kit.js'

/** Open/closed state and the one mutex of a driver instance. */
export interface DriverGuard {
  /** Throws `service_unavailable` once closed. */
  live(): void
  /** Runs `task` alone: the driver's mutations never interleave. */
  exclusive<T>(task: () => Promise<T>): Promise<T>
  /** Marks the driver closed; answers false if it already was. */
  close(): boolean
}

/** Creates a {@link DriverGuard} for the driver named `scope`. */
export function createGuard(scope: string): DriverGuard {
  let closed = false
  const mutex = createSemaphore({ max: 1 })
  const live = () => {
    if (closed) throw iscsiError(scope, 'service_unavailable', 'The driver is closed')
  }
  return {
    live,
    exclusive(task) {
      live()
      return mutex.run(async () => {
        live()
        return task()
      })
    },
    close() {
      if (closed) return false
      closed = true
      return true
    },
  }
}

/** Sorts targets by IQN and their lists, so `list()` is stable (drift compares it). */
export function sortTargets(targets: TargetState[]): TargetState[] {
  return targets.sort((a, b) => (a.iqn < b.iqn ? -1 : a.iqn > b.iqn ? 1 : 0))
}

/** Orders portals by address then port. */
export function byPortal(
  a: { address: string; port: number },
  b: { address: string; port: number },
) {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port
}

/** True if a portal listening on `listen` accepts connections to `wanted`. */
export function portalCovers(
  listen: { address: string; port: number },
  wanted: { address: string; port: number },
): boolean {
  if (listen.port !== wanted.port) return false
  if (listen.address === wanted.address) return true
  // `::` also accepts IPv4 unless IPV6_V6ONLY; `0.0.0.0` accepts every IPv4 address.
  if (listen.address === '::' || listen.address === '::0') return true
  return listen.address === '0.0.0.0' && wanted.address.includes('.')
}
