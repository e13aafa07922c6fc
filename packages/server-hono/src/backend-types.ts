import { httpBackendType } from '@pstorage/adapters-http'
import { iscsiBackendType } from '@pstorage/adapters-iscsi'
import { nfsBackendType } from '@pstorage/adapters-nfs'
import { s3BackendType } from '@pstorage/adapters-s3'
import type { BackendTypeHandlers } from '@pstorage/core'

/**
 * The backend types the standalone server reaches, beyond core's built-in `local`: one
 * handler per adapters package. NFS `mount` mode is off here (it needs a kernel NFS client
 * and a mount root chosen by the host); `userspace` mode needs neither.
 */
export const BACKEND_TYPE_HANDLERS: BackendTypeHandlers = Object.freeze({
  nfs: nfsBackendType,
  s3: s3BackendType,
  http: httpBackendType,
  iscsi: iscsiBackendType,
})
