import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach } from 'vitest'

/** Answers one request (its body already read). */
export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void

/** A real HTTP server on loopback that answers with `handlers`, one per request. */
export async function serve(...handlers: Handler[]) {
  const seen: {
    method?: string
    url?: string
    body: string
    headers: IncomingMessage['headers']
  }[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body, headers: req.headers })
      const handler = handlers[Math.min(seen.length - 1, handlers.length - 1)]!
      handler(req, res, body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections() // keep-alive sockets of the client's agents too
        server.close(() => resolve())
      }),
  )
  return { url, seen }
}
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

/** A handler answering `status` with `body` as JSON. */
export const json = (
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Handler => {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(JSON.stringify(body))
  }
}
