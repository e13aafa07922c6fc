/**
 * The S3 backend driver of PStorage: AWS S3 or any S3-compatible store behind core's
 * `BackendDriver` port. The test harness (s3rver on loopback) is `@pstorage/adapters-s3/testing`.
 *
 * @example
 * ```ts
 * import { createS3Driver } from '@pstorage/adapters-s3'
 * const driver = createS3Driver({ region: 'eu-west-3', bucket: 'templates', ...credentials })
 * ```
 */

export { s3BackendType } from './backend-type.js'
export { createS3Driver } from './s3-driver.js'
export { DRIVER_NAME, type S3DriverOptions } from './s3-options.js'
