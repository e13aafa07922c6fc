import { PStorageError } from '../errors.js'

/** Longest segment, in UTF-8 bytes: NAME_MAX of ext4/XFS/ZFS. */
export const MAX_SEGMENT_BYTES = 255
/** Longest normalised path, in UTF-8 bytes: PATH_MAX of Linux. */
export const MAX_PATH_BYTES = 4096

/** Why {@link normalizeBackendPath} refused a path: `details.reason` of its `bad_request`. */
export type PathRefusal =
  | 'absolute'
  | 'drive_letter'
  | 'empty_segment'
  | 'dot_segment'
  | 'backslash'
  | 'control_character'
  | 'percent_encoding'
  | 'invalid_unicode'
  | 'lookalike'
  | 'segment_too_long'
  | 'path_too_long'

// A `%` and two hex digits left after the framework decoded once is a second encoding layer
// (`%252e` → `%2e`, `%c0%ae`): refused outright, never decoded (security.md, "Path traversal";
// OWASP "Path Traversal": decode once). A lone `%` ("100% done.txt") stays legal.
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/
// `C:`, `C:\x`, `C:foo` (drive-relative): absolute or drive paths on Windows hosts and SMB,
// refused as any segment's start (`path.win32.join('r', 'a', 'C:')` is not below `r\a`).
const DRIVE_LETTER = /^[A-Za-z]:/
// Slash and backslash lookalikes NFKC does not fold (U+2044, U+2215, U+2216, U+29F5, U+29F8,
// U+29F9): a name shown as `a⁄b` must not pass for a path `a/b` (homoglyphs, security.md).
const SEPARATOR_LOOKALIKE = /[\u2044\u2215\u2216\u29f5\u29f8\u29f9]/
// A segment of only dots, dot lookalikes and spaces: `.`, `..`, `...`, `. .`, `．．`, `‥`.
// Win32 strips trailing dots and spaces, so `.. ` and `...` become `..` or `` on SMB targets.
const DOT_LIKE_SEGMENT = /^[\p{Zs}.\u2024\u2025\u2026\u3002\ufe19\ufe30\ufe52\uff0e\uff61]+$/u
const utf8 = new TextEncoder()

function refuse(reason: PathRefusal, detail: string): never {
  // The input is never echoed: it may carry control characters into logs (OWASP Logging).
  throw new PStorageError('bad_request', `Invalid path: ${detail}`, { details: { reason } })
}

/** First refused code point class in `s`, if any: controls, bidi controls, U+FFFD, surrogates. */
function badCharacter(s: string): PathRefusal | undefined {
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (c === 0x5c) return 'backslash'
    // C0 (NUL included), DEL, C1; bidi embeddings/overrides/isolates (Trojan Source,
    // CVE-2021-42574) can disguise `txt.exe` as `exe.txt`.
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return 'control_character'
    if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return 'control_character'
    // A lone surrogate cannot be UTF-8; U+FFFD is what a lossy decode of bad UTF-8 (overlong
    // `%c0%ae`) leaves behind: the name is not what the client meant.
    if ((c >= 0xd800 && c <= 0xdfff) || c === 0xfffd) return 'invalid_unicode'
  }
  return undefined
}

/** Checks a slash-free-at-the-ends relative path, segment by segment. */
function check(p: string): void {
  const bad = badCharacter(p)
  if (bad === 'backslash') refuse(bad, 'backslashes are not separators')
  if (bad) refuse(bad, 'control or invalid characters')
  if (PERCENT_ESCAPE.test(p)) refuse('percent_encoding', 'percent-encoded sequences')
  if (SEPARATOR_LOOKALIKE.test(p)) refuse('lookalike', 'separator lookalikes')
  for (const segment of p.split('/')) {
    if (segment === '') refuse('empty_segment', 'empty segments (//)')
    if (DOT_LIKE_SEGMENT.test(segment)) refuse('dot_segment', '. and .. segments')
    if (DRIVE_LETTER.test(segment)) refuse('drive_letter', 'drive letters are not allowed')
  }
}

/** Byte limits, on the NFC form (NFD input is longer than the name it stores). */
function checkLengths(nfc: string): void {
  if (utf8.encode(nfc).length > MAX_PATH_BYTES)
    refuse('path_too_long', `path longer than ${MAX_PATH_BYTES} bytes`)
  for (const segment of nfc.split('/'))
    if (utf8.encode(segment).length > MAX_SEGMENT_BYTES)
      refuse('segment_too_long', `a name is longer than ${MAX_SEGMENT_BYTES} bytes`)
}

/**
 * The one path normaliser of every backend driver: turns an API path into a canonical
 * relative path (`''` for the root, else segments joined by `/`) or throws `bad_request`
 * with `details.reason` (a {@link PathRefusal}).
 *
 * Decisions (security.md, "Path traversal in the file browser"):
 * - ONE leading `/` means the backend root and is stripped; another (`//server/share`) is
 *   refused. ONE trailing `/` (a directory, `/isos/`) is stripped. Any other empty segment
 *   (`a//b`, `....//`) is refused, not collapsed: collapsing is what strip-filters get wrong.
 * - Refused before any normalising, and again after: `.`/`..` and every dot-or-space-only
 *   segment, backslashes, C0/C1 controls and NUL, bidi controls, lone surrogates and U+FFFD,
 *   `%XX` escapes (no second decode), drive letters, separator lookalikes.
 * - Unicode is normalised to NFC (macOS pickers send NFD), so NFC and NFD spell one file.
 *   NFC maps no non-ASCII code point to `.`, `/`, `\`, `%` or a control (checked over all of
 *   Unicode). NFKC is only used to refuse: a path whose NFKC form gains a separator or a
 *   dot segment (`．．／`, `‥`, `℀`) is a `lookalike`, since some targets fold compatibility forms.
 * - Length limits apply to UTF-8 bytes of the NFC result: 255 per segment, 4096 in all.
 *
 * @example
 * ```ts
 * normalizeBackendPath('/')               // ''
 * normalizeBackendPath('/isos/alpine.iso') // 'isos/alpine.iso'
 * normalizeBackendPath('a/../../etc')      // throws bad_request (dot_segment)
 * ```
 */
export function normalizeBackendPath(input: string): string {
  if (typeof input !== 'string') refuse('invalid_unicode', 'not a string')
  // Cheap bound before any per-character work (OWASP API4: cap input sizes); UTF-16 units
  // never outnumber UTF-8 bytes, and NFD input may be up to 3× its NFC form.
  if (input.length > 3 * MAX_PATH_BYTES) refuse('path_too_long', 'path too long')
  let p = input.startsWith('/') ? input.slice(1) : input
  if (p.startsWith('/')) refuse('absolute', 'absolute or UNC paths are not allowed')
  if (p.endsWith('/')) p = p.slice(0, -1)
  if (p === '') return ''
  check(p)
  const nfc = p.normalize('NFC')
  if (nfc !== p) check(nfc)
  const nfkc = nfc.normalize('NFKC')
  if (nfkc !== nfc) {
    const folded = nfkc.split('/')
    const gained = nfkc.includes('\\') || folded.length !== nfc.split('/').length
    if (gained || folded.some((s) => DOT_LIKE_SEGMENT.test(s)))
      refuse('lookalike', 'compatibility forms of separators or dots')
  }
  checkLengths(nfc)
  return nfc
}

/**
 * True if `name` is a single segment the API can address as-is (drivers skip other entries
 * found in storage when listing: they could be neither opened nor deleted through the API).
 *
 * @example
 * ```ts
 * isAddressableName('report.pdf') // true
 * isAddressableName('cafe\u0301') // false (NFD)
 * ```
 */
export function isAddressableName(name: string): boolean {
  if (name === '' || name.includes('/')) return false
  try {
    return normalizeBackendPath(name) === name
  } catch {
    return false
  }
}

/**
 * The API form of a normalised path: `''` → `/`, `a/b` → `/a/b`.
 *
 * @example
 * ```ts
 * toApiPath('isos/a.iso') // '/isos/a.iso'
 * ```
 */
export function toApiPath(normalized: string): string {
  return `/${normalized}`
}

/**
 * Segments of a normalised path (`[]` for the root).
 *
 * @example
 * ```ts
 * pathSegments('a/b') // ['a', 'b']
 * ```
 */
export function pathSegments(normalized: string): string[] {
  return normalized === '' ? [] : normalized.split('/')
}

/**
 * Parent of a normalised path (`''` for a top-level entry and for the root).
 *
 * @example
 * ```ts
 * parentPath('a/b/c') // 'a/b'
 * ```
 */
export function parentPath(normalized: string): string {
  const i = normalized.lastIndexOf('/')
  return i < 0 ? '' : normalized.slice(0, i)
}

/**
 * Last segment of a normalised path (`''` for the root).
 *
 * @example
 * ```ts
 * baseName('a/b/c.txt') // 'c.txt'
 * ```
 */
export function baseName(normalized: string): string {
  return normalized.slice(normalized.lastIndexOf('/') + 1)
}
