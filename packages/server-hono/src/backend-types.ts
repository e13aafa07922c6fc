import type { BackendTypeHandlers } from '@pstorage/core'

/**
 * The backend types the standalone server reaches, beyond core's built-in `local`: one
 * handler per adapters package.
 */
export const BACKEND_TYPE_HANDLERS: BackendTypeHandlers = Object.freeze({})
