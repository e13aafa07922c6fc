/**
 * The HTTP backend driver of PStorage: read-only browsing of web server directory indexes
 * (nginx and Apache autoindex, nginx JSON autoindex) and ranged, streamed downloads.
 *
 * @example
 * ```ts
 * import { createHttpDriver } from '@pstorage/adapters-http'
 * const driver = createHttpDriver({ url: 'https://mirror.example.com/isos/' })
 * ```
 */

export { httpBackendType } from './backend-type.js'
export { DRIVER_NAME } from './errors.js'
export { createHttpDriver } from './http-driver.js'
export {
  type IndexEntry,
  type IndexFormat,
  indexFormatOf,
  parseDirectoryIndex,
  parseHtmlIndex,
  parseJsonIndex,
} from './index-parser.js'
export type { FetchLike, HttpDriverOptions } from './options.js'
