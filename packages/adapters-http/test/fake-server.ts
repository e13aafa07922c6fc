import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** A request a {@link FakeServer} received. */
export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly authorization?: string
  readonly range?: string
}

/** A throwaway HTTP server on 127.0.0.1 for behaviour nginx cannot be made to show. */
export interface FakeServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string
  readonly port: number
  readonly requests: SeenRequest[]
  close(): Promise<void>
}

/**
 * Starts a `node:http` server answering with `handler`, recording each request.
 *
 * @example
 * ```ts
 * const server = await startFakeServer((req, res) => res.writeHead(302, { location: 'http://x/' }).end())
 * ```
 */
export async function startFakeServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<FakeServer> {
  const requests: SeenRequest[] = []
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers.range ? { range: req.headers.range } : {}),
    })
    handler(req, res)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy() // hung responses must not block close
        server.close(() => resolve())
      }),
  }
}

/** A deterministic byte pattern of `size` bytes (cheap to check at any offset). */
export function patternBytes(size: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (i * 31 + (i >>> 8) * 7) & 0xff
  return out
}
