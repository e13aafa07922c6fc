import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { NFSPROC3 } from '../src/nfs3/constants.js'
import { NfsStatusError } from '../src/nfs3/nfs-status-error.js'
import { Nfs3Client } from '../src/nfs3/nfs3-client.js'
import { RpcClient, type RpcClientOptions } from '../src/rpc/rpc-client.js'
import { RpcError } from '../src/rpc/rpc-error.js'
import { AUTH_SYS } from '../src/rpc/rpc-message.js'
import { XdrReader, XdrWriter } from '../src/rpc/xdr.js'
import { framed, type ReceivedCall, replyBody, startFakeRpcServer } from './fake-rpc-server.js'

// Unit tests of the ONC RPC client against a scripted loopback server: behaviours a real
// server cannot be made to show on demand (reordered, fragmented, lost and garbage replies).

type Fake = Awaited<ReturnType<typeof startFakeRpcServer>>
const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

async function setup(
  onCall: (call: ReceivedCall) => void,
  options: Partial<RpcClientOptions> = {},
): Promise<{ fake: Fake; rpc: RpcClient }> {
  const fake = await startFakeRpcServer(onCall)
  const rpc = new RpcClient({
    host: '127.0.0.1',
    port: fake.port,
    program: 100003,
    version: 3,
    label: 'NFS',
    timeoutMs: 2000,
    ...options,
  })
  cleanup.push(
    () => fake.close(),
    () => rpc.close(),
  )
  return { fake, rpc }
}

/** Answers with the first u32 argument + 1. */
const echo = (call: ReceivedCall) =>
  call.socket.write(
    framed(replyBody(call.xid, new XdrWriter().u32(call.args.u32() + 1).toBuffer())),
  )

async function failureOf(p: Promise<unknown>): Promise<RpcError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(RpcError)
  return error as RpcError
}

describe('RpcClient (RFC 5531 over TCP)', () => {
  it('sends program, version, procedure and AUTH_SYS credentials', async () => {
    const calls: ReceivedCall[] = []
    const { rpc } = await setup(
      (call) => {
        calls.push(call)
        echo(call)
      },
      { credential: { machineName: 'box', uid: 1234, gid: 56, gids: [7] } },
    )
    const r = await rpc.call(4, (w) => w.u32(41))
    expect(r.u32()).toBe(42)
    const [c] = calls
    expect([c!.program, c!.version, c!.procedure, c!.credFlavor]).toEqual([100003, 3, 4, AUTH_SYS])
    const cred = new XdrReader(c!.credBody)
    cred.u32()
    expect([cred.string(), cred.u32(), cred.u32(), cred.u32(), cred.u32()]).toEqual([
      'box',
      1234,
      56,
      1,
      7,
    ])
  })

  it('matches replies to calls by xid, whatever their order', async () => {
    const held: ReceivedCall[] = []
    const { rpc } = await setup((call) => {
      held.push(call)
      if (held.length === 5) for (const c of held.reverse()) echo(c)
    })
    const results = await Promise.all(
      [10, 20, 30, 40, 50].map(async (v) => (await rpc.call(1, (w) => w.u32(v))).u32()),
    )
    expect(results).toEqual([11, 21, 31, 41, 51])
  })

  it('reassembles a reply sent in several fragments, byte by byte', async () => {
    const results = new XdrWriter().u32(7).opaque(Buffer.alloc(3000, 0xab)).toBuffer()
    const { rpc } = await setup(async (call) => {
      const bytes = framed(replyBody(call.xid, results), 5)
      for (let i = 0; i < bytes.length; i += 97) {
        call.socket.write(bytes.subarray(i, i + 97))
        await sleep(0)
      }
    })
    const r = await rpc.call(6)
    expect(r.u32()).toBe(7)
    expect(r.opaque().equals(Buffer.alloc(3000, 0xab))).toBe(true)
  })

  it('times out a slow call, ignores its late reply and keeps a live connection', async () => {
    let late: ReceivedCall | undefined
    const { rpc, fake } = await setup(
      (call) => {
        if (call.procedure === 9) late = call
        else setTimeout(() => echo(call), 50) // the server is alive: it answers others
      },
      { timeoutMs: 200 },
    )
    const started = Date.now()
    const slow = rpc.call(9, (w) => w.u32(0))
    const other = rpc.call(1, (w) => w.u32(5))
    const error = await failureOf(slow)
    expect(error.failure).toBe('timeout')
    expect(error.code).toBe('service_unavailable')
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    expect((await other).u32()).toBe(6)
    echo(late!) // arrives after the deadline: dropped, not mismatched with the next call
    expect((await rpc.call(1, (w) => w.u32(1))).u32()).toBe(2)
    expect(fake.connections()).toBe(1)
  })

  it('drops a connection that stays silent past a deadline, and reconnects', async () => {
    let silent = true
    const { rpc, fake } = await setup(
      (call) => {
        if (!silent) echo(call)
      },
      { timeoutMs: 150 },
    )
    const a = rpc.call(1, (w) => w.u32(0))
    await sleep(20)
    const b = rpc.call(1, (w) => w.u32(0)) // in flight when the link is declared dead
    expect((await failureOf(a)).failure).toBe('timeout')
    expect((await failureOf(b)).failure).toBe('disconnected')
    silent = false
    expect((await rpc.call(1, (w) => w.u32(1))).u32()).toBe(2)
    expect(fake.connections()).toBe(2)
  })

  it('fails the calls of a dropped connection and reconnects for the next', async () => {
    let seen = 0
    const { rpc, fake } = await setup((call) => {
      if (++seen === 2) call.socket.destroy()
      else if (seen > 2) echo(call)
    })
    const a = rpc.call(1, (w) => w.u32(0))
    const b = rpc.call(1, (w) => w.u32(0))
    expect((await failureOf(a)).failure).toBe('disconnected')
    expect((await failureOf(b)).failure).toBe('disconnected')
    expect((await rpc.call(1, (w) => w.u32(99))).u32()).toBe(100)
    expect(fake.connections()).toBe(2)
  })

  it('drops a connection that sends garbage, and recovers', async () => {
    let first = true
    const { rpc, fake } = await setup(
      (call) => {
        if (first) {
          first = false
          call.socket.write(Buffer.from('80ffffff', 'hex')) // a 16 MiB record: over the limit
        } else echo(call)
      },
      { maxRecordBytes: 64 * 1024 },
    )
    expect((await failureOf(rpc.call(1, (w) => w.u32(0)))).failure).toBe('protocol')
    expect((await rpc.call(1, (w) => w.u32(1))).u32()).toBe(2)
    expect(fake.connections()).toBe(2)
  })

  it('reports refused calls: program unavailable, bad credentials', async () => {
    const { rpc } = await setup((call) => {
      if (call.procedure === 1) call.socket.write(framed(replyBody(call.xid, new Uint8Array(0), 1)))
      else
        call.socket.write(
          framed(new XdrWriter().u32(call.xid).u32(1).u32(1).u32(1).u32(1).toBuffer()),
        )
    })
    const unavailable = await failureOf(rpc.call(1))
    expect([unavailable.failure, unavailable.code]).toEqual(['rejected', 'service_unavailable'])
    expect(unavailable.message).toMatch(/PROG_UNAVAIL/)
    const auth = await failureOf(rpc.call(2))
    expect([auth.failure, auth.code]).toEqual(['rejected', 'forbidden'])
    expect(auth.message).toMatch(/AUTH_BADCRED/)
  })

  it('keeps at most maxOutstanding calls in flight', async () => {
    let inFlight = 0
    let peak = 0
    const { rpc } = await setup(
      async (call) => {
        peak = Math.max(peak, ++inFlight)
        await sleep(20)
        inFlight--
        echo(call)
      },
      { maxOutstanding: 2 },
    )
    const results = await Promise.all(
      Array.from({ length: 7 }, async (_, i) => (await rpc.call(1, (w) => w.u32(i))).u32()),
    )
    expect(results).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(peak).toBe(2)
  })

  it('says who refused a connection', async () => {
    const { fake } = await setup(() => undefined)
    const port = fake.port
    await fake.close()
    const rpc = new RpcClient({
      host: '127.0.0.1',
      port,
      program: 1,
      version: 1,
      label: 'MOUNT',
      timeoutMs: 2000,
    })
    const error = await failureOf(rpc.call(0))
    expect(error.failure).toBe('connect')
    expect(error.message).toBe(`[pstorage] [nfs] Connection refused by 127.0.0.1:${port} (MOUNT)`)
  })

  it('fails pending calls on close and refuses later ones', async () => {
    const { rpc } = await setup(() => undefined)
    const pending = rpc.call(1)
    await sleep(50)
    await rpc.close()
    expect((await failureOf(pending)).failure).toBe('closed')
    expect((await failureOf(rpc.call(1))).failure).toBe('closed')
  })
})

describe('Nfs3Client', () => {
  it('resends an idempotent call once after a lost connection, never a non-idempotent one', async () => {
    const seen: number[] = []
    const { rpc } = await setup((call) => {
      seen.push(call.procedure)
      if (seen.filter((p) => p === call.procedure).length === 1) return void call.socket.destroy()
      call.socket.write(
        framed(replyBody(call.xid, new XdrWriter().u32(0).bool(false).u32(1).toBuffer())),
      )
    })
    const nfs = new Nfs3Client(rpc)
    // ACCESS is idempotent: the first attempt is dropped, the second answers.
    expect(await nfs.access(Buffer.alloc(8), 1)).toBe(1)
    expect(seen).toEqual([NFSPROC3.ACCESS, NFSPROC3.ACCESS])
    // REMOVE is not: its outcome is unknown, so it fails rather than risk a false NOENT.
    const error = await failureOf(nfs.remove(Buffer.alloc(8), Buffer.from('x')))
    expect(error.failure).toBe('disconnected')
    expect(seen.filter((p) => p === NFSPROC3.REMOVE)).toHaveLength(1)
  })

  it('turns a status into NfsStatusError and a truncated result into a protocol error', async () => {
    const { rpc } = await setup((call) => {
      const results =
        call.procedure === NFSPROC3.LOOKUP
          ? new XdrWriter()
              .u32(2)
              .bool(false)
              .toBuffer() // NFS3ERR_NOENT, no dir attributes
          : new XdrWriter().u32(0).u32(1).toBuffer() // GETATTR OK with 4 bytes of a fattr3
      call.socket.write(framed(replyBody(call.xid, results)))
    })
    const nfs = new Nfs3Client(rpc)
    const missing = await nfs.lookup(Buffer.alloc(8), Buffer.from('a')).catch((e) => e)
    expect(missing).toBeInstanceOf(NfsStatusError)
    expect(missing).toMatchObject({
      code: 'not_found',
      nfsStatus: 2,
      nfsStatusName: 'NFS3ERR_NOENT',
    })
    expect((await failureOf(nfs.getattr(Buffer.alloc(8)))).failure).toBe('protocol')
  })
})
