/**
 * The `type` of NFS backends; also the tag of every error message of this package
 * (`[pstorage] [nfs] …`).
 *
 * @example
 * ```ts
 * if (config.type === DRIVER_NAME) createNfsDriver(config)
 * ```
 */
export const DRIVER_NAME = 'nfs'
