/**
 * s3rver for `pnpm bench:backends`, in a process of its own: in the benchmark's process it
 * would share one event loop with the direct S3 client and the hashing, and handicap the
 * direct figure. Creates the bucket named by argv[2], prints one JSON line (endpoint,
 * region, credentials), and stops when its stdin closes or on SIGTERM/SIGINT.
 *
 *   node packages/server-hono/bench/backends/s3rver.ts <bucket>
 */
import { startS3rver } from '@pstorage/adapters-s3/testing'

const bucket = process.argv[2]
if (!bucket) throw new Error('usage: s3rver.ts <bucket>')
const s3 = await startS3rver({ buckets: [bucket] })
process.stdout.write(
  `${JSON.stringify({
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  })}\n`,
)
const stop = () => {
  s3.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
process.stdin.once('end', stop)
process.stdin.resume()
