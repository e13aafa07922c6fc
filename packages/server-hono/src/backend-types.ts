import type { BackendType, BackendTypeHandler, BackendTypeHandlers } from '@pstorage/core'

type Method = 'validate' | 'open' | 'test' | 'openTarget'

/**
 * A handler that imports its adapter on the first call of one of `methods` (the methods
 * the real handler has: core tells types apart by which ones are present). The adapters
 * weigh more than the rest of the server together (the AWS SDK; ssh2 and its WebAssembly
 * for iSCSI, ~17 MB): a server that never reaches a backend type never holds its code, and
 * the garbage collector never walks it.
 *
 * @example
 * ```ts
 * const s3 = lazyHandler(async () => (await import('@pstorage/adapters-s3')).s3BackendType, ['open'])
 * ```
 */
export function lazyHandler<T extends BackendType>(
  load: () => Promise<BackendTypeHandler<T>>,
  methods: readonly Method[],
): BackendTypeHandler<T> {
  let loaded: Promise<BackendTypeHandler<T>> | undefined
  const handler: Record<string, unknown> = {}
  for (const method of methods) {
    handler[method] = async (...args: unknown[]) => {
      loaded ??= load().catch((error: unknown) => {
        loaded = undefined // a failed import is retried by the next call
        throw error
      })
      const real = (await loaded) as Record<Method, ((...a: unknown[]) => unknown) | undefined>
      const fn = real[method]
      if (!fn) throw new Error(`The ${method} method of this backend type is missing`)
      return fn.apply(real, args)
    }
  }
  return Object.freeze(handler) as BackendTypeHandler<T>
}

/**
 * The backend types the standalone server reaches, beyond core's built-in `local`: one
 * handler per adapters package, each imported on first use. NFS `mount` mode is off here
 * (it needs a kernel NFS client and a mount root chosen by the host); `userspace` mode
 * needs neither.
 */
export const BACKEND_TYPE_HANDLERS: BackendTypeHandlers = Object.freeze({
  nfs: lazyHandler(
    async () => (await import('@pstorage/adapters-nfs')).nfsBackendType,
    ['validate', 'open'],
  ),
  s3: lazyHandler(async () => (await import('@pstorage/adapters-s3')).s3BackendType, ['open']),
  http: lazyHandler(
    async () => (await import('@pstorage/adapters-http')).httpBackendType,
    ['open'],
  ),
  iscsi: lazyHandler(
    async () => (await import('@pstorage/adapters-iscsi')).iscsiBackendType,
    ['validate', 'test', 'openTarget'],
  ),
})
