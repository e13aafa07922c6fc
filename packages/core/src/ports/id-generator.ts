import { randomUUID } from 'node:crypto'

/**
 * Makes resource ids. Ids are UUIDs on the wire (ARCHITECTURE.md); tests may inject a
 * deterministic generator.
 *
 * @example
 * ```ts
 * const ids: IdGenerator = { next: () => crypto.randomUUID() }
 * ```
 */
export interface IdGenerator {
  /** A new id, never returned before. */
  next(): string
}

/** Random (version 4) UUIDs from `node:crypto`. */
export const uuidGenerator: IdGenerator = Object.freeze({ next: () => randomUUID() })
