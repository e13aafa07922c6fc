/**
 * Stable error codes of PStorage and the HTTP status each maps to. Codes are part of the
 * public API (clients switch on them): never rename or reuse one.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  not_applicable: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  clustering_disabled: 409,
  length_required: 411,
  account_locked: 423,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  validation_error: 422,
  rate_limited: 429,
  internal_error: 500,
  data_corruption: 500,
  service_unavailable: 503,
  insufficient_capacity: 507,
} as const satisfies Record<string, number>

export type ErrorCode = keyof typeof ERROR_STATUS

/** Options of {@link PStorageError}. */
export interface PStorageErrorOptions {
  /** Structured context for the client, such as the failing fields of a validation error. */
  readonly details?: Record<string, unknown>
  /** The native error behind this one; kept for logs, never sent to clients. */
  readonly cause?: unknown
}

/**
 * The one error type of PStorage: a stable `code`, a human `detail`, optional `details`.
 *
 * @example
 * ```ts
 * throw new PStorageError('not_found', `Volume ${id} not found`)
 * ```
 */
export class PStorageError extends Error {
  readonly code: ErrorCode
  readonly details?: Record<string, unknown>

  constructor(code: ErrorCode, detail: string, options: PStorageErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'PStorageError'
    this.code = code
    if (options.details) this.details = options.details
  }

  /** The message meant for the client. */
  get detail(): string {
    return this.message
  }

  /** The HTTP status of this error's code. */
  get status(): number {
    return ERROR_STATUS[this.code]
  }
}

/** True if `error` is a {@link PStorageError}, optionally of the given code. */
export function isPStorageError(error: unknown, code?: ErrorCode): error is PStorageError {
  return error instanceof PStorageError && (code === undefined || error.code === code)
}

/** `not_found` for a resource kind and id: `Volume 550e… not found` (seeds/001 wording). */
export function notFound(kind: string, id: string): PStorageError {
  return new PStorageError('not_found', `${kind} ${id} not found`)
}
