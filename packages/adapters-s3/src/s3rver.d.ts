// The part of s3rver 3.7 (which ships no types) that the test harness uses.
declare module 's3rver' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  interface S3rverOptions {
    /** Data directory (one subdirectory per bucket). */
    directory: string
    silent?: boolean
    /** Answer `bucket.host` requests; off: path-style only. */
    vhostBuckets?: boolean
  }

  class S3rver {
    constructor(options: S3rverOptions)
    /** The Koa request handler, for a server the caller listens with. */
    callback(): (req: IncomingMessage, res: ServerResponse) => void
    /** Its winston logger; closed by `listen`'s server on close, so by us otherwise. */
    readonly logger: { close(): void }
    /** Its file store (internal API, read by the harness's ListObjectsV2). */
    readonly store: import('./testing-list.js').S3rverStore
  }

  export = S3rver
}
