import { describe, expect, it } from 'vitest'
import { createSemaphore } from './semaphore.js'

function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

const tick = () => new Promise((r) => setImmediate(r))

describe('createSemaphore', () => {
  it('runs at most `max` tasks at once, in FIFO order', async () => {
    const semaphore = createSemaphore({ max: 2 })
    const gates = Array.from({ length: 5 }, deferred)
    const started: number[] = []
    let peak = 0
    const runs = gates.map((gate, i) =>
      semaphore.run(async () => {
        started.push(i)
        peak = Math.max(peak, semaphore.active)
        await gate.promise
        return i
      }),
    )
    await tick()
    expect(started).toEqual([0, 1])
    expect(semaphore.waiting).toBe(3)
    gates[1]!.resolve()
    await tick()
    expect(started).toEqual([0, 1, 2])
    for (const gate of gates) gate.resolve()
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4])
    expect(peak).toBe(2)
    expect(semaphore.active).toBe(0)
  })

  it('releases the slot when a task throws', async () => {
    const semaphore = createSemaphore({ max: 1 })
    await expect(semaphore.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(semaphore.active).toBe(0)
    expect(await semaphore.run(async () => 'ok')).toBe('ok')
  })

  it('fails fast with service_unavailable when the queue is full', async () => {
    const semaphore = createSemaphore({ max: 1, maxWaiting: 1 })
    const gate = deferred()
    const first = semaphore.run(() => gate.promise)
    const second = semaphore.run(async () => 'queued')
    await expect(semaphore.run(async () => 'rejected')).rejects.toMatchObject({
      code: 'service_unavailable',
    })
    gate.resolve()
    await first
    expect(await second).toBe('queued')
  })

  it('rejects a non-positive max', () => {
    expect(() => createSemaphore({ max: 0 })).toThrow(/max/)
    expect(() => createSemaphore({ max: 1.5 })).toThrow(/max/)
  })
})
