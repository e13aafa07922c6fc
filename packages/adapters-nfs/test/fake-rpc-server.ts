import { createServer, type Server, type Socket } from 'node:net'
import { RecordDecoder } from '../src/rpc/record-marking.js'
import { XdrReader, XdrWriter } from '../src/rpc/xdr.js'

/** A call as the fake server decoded it (RFC 5531 §9 call_body). */
export interface ReceivedCall {
  readonly xid: number
  readonly program: number
  readonly version: number
  readonly procedure: number
  readonly credFlavor: number
  readonly credBody: Buffer
  /** The procedure's arguments. */
  readonly args: XdrReader
  readonly socket: Socket
  /** Connection number, from 1. */
  readonly connection: number
}

/** Encodes a reply record body: accepted SUCCESS with `results`, or a raw accept_stat. */
export function replyBody(
  xid: number,
  results: Uint8Array = new Uint8Array(0),
  acceptStat = 0,
): Buffer {
  const w = new XdrWriter()
  w.u32(xid).u32(1).u32(0).u32(0).opaque(new Uint8Array(0)).u32(acceptStat)
  w.fixedOpaque(results)
  return w.toBuffer()
}

/** A record mark + body, as one fragment or split into `fragments` fragments. */
export function framed(body: Buffer, fragments = 1): Buffer {
  const parts: Buffer[] = []
  const size = Math.ceil(body.length / fragments)
  for (let at = 0, i = 0; i < fragments; i++, at += size) {
    const piece = body.subarray(at, Math.min(at + size, body.length))
    const mark = Buffer.alloc(4)
    mark.writeUInt32BE(((i === fragments - 1 ? 0x80000000 : 0) | piece.length) >>> 0)
    parts.push(mark, piece)
  }
  return Buffer.concat(parts)
}

/**
 * An ONC RPC server on loopback for unit tests of the client: it decodes every call and
 * hands it to `onCall`, which answers (or not) through the call's socket. It implements no
 * real program: the NFS driver itself is tested against nfs-ganesha.
 */
export async function startFakeRpcServer(
  onCall: (call: ReceivedCall) => void,
): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    const connection = ++count
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    const decoder = new RecordDecoder(16 * 1024 * 1024)
    socket.on('data', (chunk) => {
      for (const record of decoder.push(chunk)) {
        const r = new XdrReader(record)
        const xid = r.u32()
        r.u32() // CALL
        r.u32() // rpcvers
        const program = r.u32()
        const version = r.u32()
        const procedure = r.u32()
        const credFlavor = r.u32()
        const credBody = Buffer.from(r.opaque())
        r.u32()
        r.opaque()
        onCall({
          xid,
          program,
          version,
          procedure,
          credFlavor,
          credBody,
          args: r,
          socket,
          connection,
        })
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
