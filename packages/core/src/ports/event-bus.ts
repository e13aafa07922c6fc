/** Every event PStorage publishes, by type. Later issues add types (jobs, LUNs, sessions). */
export interface PStorageEvents {
  'volume.created': { readonly volume_id: string }
  'volume.updated': { readonly volume_id: string }
  'volume.deleted': { readonly volume_id: string }
  'volume.resized': { readonly volume_id: string; readonly size_bytes: number }
  'snapshot.created': { readonly snapshot_id: string; readonly volume_id: string }
  'snapshot.deleted': { readonly snapshot_id: string; readonly volume_id: string }
  'snapshot.restored': { readonly snapshot_id: string; readonly volume_id: string }
}

export type EventType = keyof PStorageEvents

/** One published event. */
export interface PStorageEvent<T extends EventType = EventType> {
  readonly type: T
  readonly at: string
  readonly payload: PStorageEvents[T]
}

/**
 * Publishes what happened, for WebSocket pushes, webhooks and audit. Delivery is
 * best-effort and in-process by default: a failing subscriber never fails the publisher.
 *
 * @example
 * ```ts
 * const off = events.subscribe((e) => console.log(e.type))
 * ```
 */
export interface EventBus {
  /** Delivers an event to every current subscriber. */
  publish<T extends EventType>(type: T, payload: PStorageEvents[T]): void
  /** Calls `listener` for every later event; returns the unsubscribe function. */
  subscribe(listener: (event: PStorageEvent) => void): () => void
}
