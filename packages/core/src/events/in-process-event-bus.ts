import type { Clock } from '../ports/clock.js'
import { systemClock } from '../ports/clock.js'
import type { EventBus, PStorageEvent } from '../ports/event-bus.js'

/**
 * The default `EventBus`: synchronous fan-out to in-process subscribers. A throwing
 * subscriber is isolated (its error is reported to `onError`) so it never fails the
 * operation that published.
 *
 * @example
 * ```ts
 * const events = createInProcessEventBus()
 * events.subscribe((e) => console.log(e.type, e.payload))
 * ```
 */
export function createInProcessEventBus(
  options: { clock?: Clock; onError?: (error: unknown, event: PStorageEvent) => void } = {},
): EventBus {
  const clock = options.clock ?? systemClock
  const listeners = new Set<(event: PStorageEvent) => void>()
  return Object.freeze({
    publish(type, payload) {
      const event = { type, at: clock.now().toISOString(), payload } as PStorageEvent
      for (const listener of listeners) {
        try {
          listener(event)
        } catch (error) {
          options.onError?.(error, event)
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  } satisfies EventBus)
}
