import type { PathRefusal } from './path.js'

/** A hostile API path and the reason `normalizeBackendPath` refuses it. */
export interface TraversalCase {
  readonly path: string
  readonly reason: PathRefusal
  /** Which bypass of security.md, "Path traversal in the file browser", it stands for. */
  readonly note: string
}

/**
 * Every bypass listed in security.md ("Path traversal in the file browser", after
 * ravenio.org's "Path traversal beyond ../") as the string a driver receives once the HTTP
 * framework decoded the URL once. Shared by the normaliser's tests and the driver suite.
 *
 * @example
 * ```ts
 * for (const c of TRAVERSAL_CASES) expect(() => normalizeBackendPath(c.path)).toThrow()
 * ```
 */
export const TRAVERSAL_CASES: readonly TraversalCase[] = [
  { path: '..', reason: 'dot_segment', note: 'parent' },
  { path: '../', reason: 'dot_segment', note: '../' },
  { path: '/../etc/passwd', reason: 'dot_segment', note: 'rooted ../' },
  { path: 'a/../../b', reason: 'dot_segment', note: 'a/../../b' },
  { path: 'a/..', reason: 'dot_segment', note: 'trailing ..' },
  { path: './a', reason: 'dot_segment', note: '. segment' },
  { path: 'a/./b', reason: 'dot_segment', note: 'inner . segment' },
  { path: '...', reason: 'dot_segment', note: 'Win32 strips trailing dots' },
  { path: '.. ', reason: 'dot_segment', note: 'Win32 strips trailing spaces' },
  { path: ' ', reason: 'dot_segment', note: 'blank name' },
  { path: '....//', reason: 'dot_segment', note: '....// against strip-filters' },
  { path: '....//....//etc', reason: 'dot_segment', note: '....//....// against strip-filters' },
  { path: 'a//b', reason: 'empty_segment', note: 'empty segment' },
  { path: '%2e%2e%2f', reason: 'percent_encoding', note: '%2e%2e%2f (encoded twice)' },
  { path: '..%2f', reason: 'percent_encoding', note: '..%2f' },
  { path: '%2E%2E/etc', reason: 'percent_encoding', note: 'upper-case %2E' },
  { path: '%252e%252e%252f', reason: 'percent_encoding', note: 'double encoding' },
  { path: '%c0%ae%c0%ae/', reason: 'percent_encoding', note: 'overlong UTF-8, still encoded' },
  { path: '\ufffd\ufffd/etc', reason: 'invalid_unicode', note: 'overlong UTF-8, lossily decoded' },
  { path: 'a%00.txt', reason: 'percent_encoding', note: 'encoded NUL' },
  { path: '%5c..%5c', reason: 'percent_encoding', note: 'encoded backslash' },
  { path: '..\\..\\windows', reason: 'backslash', note: '..\\..\\' },
  { path: 'a\\b', reason: 'backslash', note: 'backslash separator' },
  { path: 'a\u0000.txt', reason: 'control_character', note: 'NUL truncation' },
  { path: 'a\nb', reason: 'control_character', note: 'newline (log injection)' },
  { path: 'a\u007f', reason: 'control_character', note: 'DEL' },
  { path: 'a\u0085b', reason: 'control_character', note: 'C1 next line' },
  { path: 'invoice\u202etxt.exe', reason: 'control_character', note: 'bidi override' },
  { path: 'a\ud800b', reason: 'invalid_unicode', note: 'lone surrogate' },
  { path: '//server/share', reason: 'absolute', note: 'UNC path' },
  { path: '//etc/passwd', reason: 'absolute', note: 'double slash absolute' },
  { path: 'C:\\Windows', reason: 'backslash', note: 'Windows absolute C:\\' },
  { path: 'C:/Windows', reason: 'drive_letter', note: 'drive letter with slash' },
  { path: 'c:', reason: 'drive_letter', note: 'drive-relative' },
  { path: '\uff0e\uff0e\uff0fetc', reason: 'lookalike', note: 'fullwidth ．．／' },
  { path: '\uff0e\uff0e/etc', reason: 'dot_segment', note: 'fullwidth ．．' },
  { path: '\u2025/etc', reason: 'dot_segment', note: 'two dot leader ‥' },
  { path: 'a\u2215..\u2215b', reason: 'lookalike', note: 'division slash homoglyph' },
  { path: '..\u2044etc', reason: 'lookalike', note: 'fraction slash homoglyph' },
  { path: '\u2100', reason: 'lookalike', note: '℀ folds to a/c under NFKC' },
  { path: 'x'.repeat(256), reason: 'segment_too_long', note: 'segment > 255 bytes' },
  { path: '\u00e9'.repeat(128), reason: 'segment_too_long', note: '128 chars but 256 bytes' },
  { path: 'abcdefgh/'.repeat(456), reason: 'path_too_long', note: 'path > 4096 bytes' },
]

/**
 * Paths that look hostile but are confined to the backend root, with their canonical form.
 *
 * @example
 * ```ts
 * expect(normalizeBackendPath('/etc/passwd')).toBe('etc/passwd')
 * ```
 */
export const CONFINED_CASES: readonly { readonly path: string; readonly normalized: string }[] = [
  { path: '/etc/passwd', normalized: 'etc/passwd' }, // the backend's own /etc, not the host's
  { path: 'cafe\u0301.txt', normalized: 'caf\u00e9.txt' }, // NFD is stored as NFC
  { path: '/isos/', normalized: 'isos' },
  { path: '100% done.txt', normalized: '100% done.txt' }, // a lone % is not an escape
  { path: 'file\uff0etxt', normalized: 'file\uff0etxt' }, // a fullwidth dot inside a name
]
