import { httpBackendType } from '@pstorage/adapters-http'
import { iscsiBackendType } from '@pstorage/adapters-iscsi'
import { nfsBackendType } from '@pstorage/adapters-nfs'
import { s3BackendType } from '@pstorage/adapters-s3'
import type { BackendContext, BackendTypeHandler } from '@pstorage/core'
import { describe, expect, it, vi } from 'vitest'
import { BACKEND_TYPE_HANDLERS, lazyHandler } from '../src/backend-types.js'

const methodsOf = (handler: object | undefined) => Object.keys(handler ?? {}).sort()
const ctx = {} as BackendContext

describe('backend type handlers', () => {
  it('have the methods of the adapters they stand for (core tells types apart by them)', () => {
    expect(methodsOf(BACKEND_TYPE_HANDLERS.nfs)).toEqual(methodsOf(nfsBackendType))
    expect(methodsOf(BACKEND_TYPE_HANDLERS.s3)).toEqual(methodsOf(s3BackendType))
    expect(methodsOf(BACKEND_TYPE_HANDLERS.http)).toEqual(methodsOf(httpBackendType))
    expect(methodsOf(BACKEND_TYPE_HANDLERS.iscsi)).toEqual(methodsOf(iscsiBackendType))
  })

  it('import the adapter on the first call only, and pass arguments and answers through', async () => {
    const test = vi.fn(async () => ({ ok: true, latency_ms: 1, message: 'fine' }))
    const load = vi.fn(async (): Promise<BackendTypeHandler<'http'>> => ({ test }))
    const lazy = lazyHandler(load, ['test'])
    expect(load).not.toHaveBeenCalled()
    const config = { url: 'http://example.test/' } as never
    expect(await lazy.test?.(config, ctx)).toEqual({ ok: true, latency_ms: 1, message: 'fine' })
    await lazy.test?.(config, ctx)
    expect(load).toHaveBeenCalledTimes(1)
    expect(test).toHaveBeenCalledWith(config, ctx)
    expect(lazy.open).toBeUndefined()
  })

  it('retry an import that failed', async () => {
    const load = vi
      .fn<() => Promise<BackendTypeHandler<'http'>>>()
      .mockRejectedValueOnce(new Error('no such module'))
      .mockResolvedValueOnce({ test: async () => ({ ok: false, latency_ms: 0, message: 'x' }) })
    const lazy = lazyHandler(load, ['test'])
    await expect(lazy.test?.({} as never, ctx)).rejects.toThrow('no such module')
    expect((await lazy.test?.({} as never, ctx))?.message).toBe('x')
    expect(load).toHaveBeenCalledTimes(2)
  })

  it('forward errors of the real handler unchanged', async () => {
    await expect(
      BACKEND_TYPE_HANDLERS.nfs?.validate?.(
        { server: '127.0.0.1', export: 'relative', mode: 'mount' } as never,
        { id: 'b1', guard: { check: async () => {} }, localRoots: [] } as never,
      ),
    ).rejects.toThrow(/mount mode is not enabled/)
  })
})
