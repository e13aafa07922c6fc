import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { S3Client } from '@aws-sdk/client-s3'
import { type BackendTypeHandler, guardedLookup } from '@pstorage/core'
import { BulkHttpHandler } from './bulk-handler.js'
import { createS3Driver } from './s3-driver.js'

/** Connect and idle timeout of backends opened from stored configs. */
const TIMEOUT_MS = 30_000

const handler: BackendTypeHandler<'s3'> = {
  async open(config, ctx) {
    const lookup = guardedLookup(ctx.guard)
    const client = new S3Client({
      region: config.region,
      ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
      forcePathStyle: config.force_path_style,
      credentials: {
        accessKeyId: config.access_key_id,
        secretAccessKey: config.secret_access_key,
      },
      requestHandler: new BulkHttpHandler({
        connectionTimeout: TIMEOUT_MS,
        socketTimeout: TIMEOUT_MS,
        httpAgent: new HttpAgent({ keepAlive: true, lookup }),
        httpsAgent: new HttpsAgent({ keepAlive: true, lookup }),
        lookup,
      }),
    })
    const driver = createS3Driver({
      region: config.region,
      bucket: config.bucket,
      ...(config.prefix === undefined ? {} : { prefix: config.prefix }),
      ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
      accessKeyId: config.access_key_id,
      secretAccessKey: config.secret_access_key,
      forcePathStyle: config.force_path_style,
      requestTimeoutMs: TIMEOUT_MS,
      client,
    })
    // The driver does not own an injected client: destroy it with the driver.
    return Object.freeze({
      ...driver,
      name: driver.name,
      capabilities: driver.capabilities,
      async close() {
        await driver.close()
        client.destroy()
      },
    })
  },
}

/**
 * The `s3` backend type for `createPStorage({ backendTypes: { s3: s3BackendType } })`: opens
 * a {@link createS3Driver} from a stored `S3BackendConfig`. Its client connects through
 * agents whose DNS lookup passes the server's address guard, so every connection (not only
 * the saved config) honours the private-address policy.
 *
 * @example
 * ```ts
 * const pstorage = await createPStorage({ backendTypes: { s3: s3BackendType } })
 * ```
 */
export const s3BackendType: BackendTypeHandler<'s3'> = Object.freeze(handler)
