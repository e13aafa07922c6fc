import { GeneratedOperations } from './generated/operations.js'
import {
  createTransport,
  type RequestOptions,
  type RequestSpec,
  type TransportOptions,
} from './transport.js'

/** Options of {@link PStorageClient}. */
export type ClientOptions = TransportOptions

/**
 * The typed client of the PStorage API: one method per operation of the served OpenAPI
 * document (generated), over a small hand-written transport.
 *
 * @example
 * ```ts
 * const client = new PStorageClient({ baseUrl: 'http://localhost:8000' })
 * const volume = await client.createVolume({ name: 'db', size_gb: 10 })
 * await client.writeVolume(volume.id, { offset: 0, data: btoa('Hello World!') })
 * ```
 */
export class PStorageClient extends GeneratedOperations {
  readonly #send: ReturnType<typeof createTransport>

  constructor(options: ClientOptions) {
    super()
    this.#send = createTransport(options)
  }

  protected request<T>(spec: RequestSpec, options?: RequestOptions): Promise<T> {
    return this.#send<T>(spec, options)
  }
}

/** Shorthand for `new PStorageClient(options)`. */
export function createClient(options: ClientOptions): PStorageClient {
  return new PStorageClient(options)
}
