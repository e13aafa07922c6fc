import type { z } from 'zod'
import { PStorageError } from '../errors.js'

/** One failing field of a `validation_error`: where, and why. */
export interface FieldIssue {
  readonly path: string
  readonly message: string
}

/** Flattens zod issues into `{ path, message }` pairs (`tags.env`, `size_gb`, ...). */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }))
}

/** The `validation_error` of a failed parse: one detail line, the issues in `details`. */
export function validationError(error: z.ZodError, what = 'request'): PStorageError {
  const issues = fieldIssues(error)
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ')
  return new PStorageError('validation_error', `Invalid ${what}: ${summary}`, {
    details: { issues },
  })
}

/**
 * Parses untrusted input with a core schema; a mismatch throws `validation_error` (422).
 * Services call it on every input, so the SDK validates exactly as the HTTP API does.
 *
 * @example
 * ```ts
 * const request = parseInput(CreateVolumeRequestSchema, body)
 * ```
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what?: string,
): z.output<S> {
  const result = schema.safeParse(input)
  if (!result.success) throw validationError(result.error, what)
  return result.data
}

/** Parses a list query, folding the `skip` alias into `offset`. */
export function parseListQuery<K extends string>(
  schema: z.ZodType<{
    limit: number
    offset?: number
    skip?: number
    sort?: K
    order: 'asc' | 'desc'
    search?: string
  }>,
  input: unknown,
) {
  const { offset, skip, ...rest } = parseInput(schema, input ?? {}, 'query')
  return { ...rest, offset: offset ?? skip ?? 0 }
}
