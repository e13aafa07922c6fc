const DATA_KEY = '"data":"'

/**
 * Parses the answer of a JSON read (`{"volume_id":…,"offset":…,"size":…,"data":"<base64>"}`)
 * without running `JSON.parse` over its `data`: up to 16 MiB of base64, which the parser
 * would scan and copy again (about half of a client's time per call). The rest of the
 * document goes through `JSON.parse`, `data` is cut from the text between its quotes, and
 * anything not of that exact shape (an escape in the value, no top-level `data` string) is
 * parsed whole, the usual way. One leniency: raw control characters inside `data`, which
 * `JSON.parse` refuses, are not looked for (that scan would cost what the cut saves); a
 * base64 decoder refuses or skips them.
 *
 * @example
 * ```ts
 * parseReadDocument('{"volume_id":"v","offset":0,"size":3,"data":"YWJj"}').data // 'YWJj'
 * ```
 */
export function parseReadDocument<T extends { data: string }>(text: string): T {
  const key = text.lastIndexOf(DATA_KEY)
  if (key >= 0) {
    const from = key + DATA_KEY.length
    const end = text.indexOf('"', from)
    const backslash = text.indexOf('\\', from)
    // Without a backslash, the next quote closes the value: the value is exactly the text
    // between, and base64 needs no escapes. With one, the value may hold an escaped quote.
    if (end >= from && (backslash === -1 || backslash > end)) {
      const rest = JSON.parse(text.slice(0, from) + text.slice(end)) as unknown
      // The cut was the top-level `data` (the emptied value is the document's `data`).
      if (typeof rest === 'object' && rest !== null && (rest as { data?: unknown }).data === '') {
        return { ...(rest as object), data: text.slice(from, end) } as T
      }
    }
  }
  return JSON.parse(text) as T
}
