/**
 * The Debian suite and mirror this machine's apt uses, for debootstrap: read from
 * `/etc/apt/sources.list` (one-line format) and `/etc/apt/sources.list.d/*.list|*.sources`
 * (deb822). `PSTORAGE_BENCH_SUITE` and `PSTORAGE_BENCH_MIRROR` override them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** One `deb` source: its URI and suites. */
interface Source {
  readonly uri: string
  readonly suites: readonly string[]
}

/** `deb [options] uri suite components...` lines. */
function oneLine(text: string): Source[] {
  const out: Source[] = []
  for (const raw of text.split('\n')) {
    const line = raw
      .replace(/#.*/, '')
      .replace(/\[[^\]]*\]/, ' ')
      .trim()
    const [type, uri, suite] = line.split(/\s+/)
    if (type === 'deb' && uri && suite) out.push({ uri, suites: [suite] })
  }
  return out
}

/** deb822 stanzas: `Types:`, `URIs:`, `Suites:` (comment lines skipped). */
function deb822(text: string): Source[] {
  const out: Source[] = []
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>()
    for (const line of stanza.split('\n')) {
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line)
      if (match?.[1] && match[2] !== undefined) fields.set(match[1].toLowerCase(), match[2])
    }
    if (fields.get('enabled') === 'no') continue
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean)
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean))
      out.push({ uri, suites })
  }
  return out
}

/** Every `deb` source apt reads. */
function sources(): Source[] {
  const out: Source[] = []
  if (existsSync('/etc/apt/sources.list'))
    out.push(...oneLine(readFileSync('/etc/apt/sources.list', 'utf8')))
  const dir = '/etc/apt/sources.list.d'
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      const text = readFileSync(join(dir, name), 'utf8')
      if (name.endsWith('.list')) out.push(...oneLine(text))
      else if (name.endsWith('.sources')) out.push(...deb822(text))
    }
  }
  return out
}

/**
 * The main Debian archive apt uses: the first source whose URI path ends in `/debian`,
 * with its first release suite (not `-updates`, `-security`, `-backports`).
 *
 * @example
 * ```ts
 * aptSource() // { suite: 'bookworm', mirror: 'http://deb.debian.org/debian' }
 * ```
 */
export function aptSource(): { suite: string; mirror: string } {
  const envSuite = process.env.PSTORAGE_BENCH_SUITE
  const envMirror = process.env.PSTORAGE_BENCH_MIRROR
  if (envSuite && envMirror) return { suite: envSuite, mirror: envMirror }
  for (const source of sources()) {
    if (!/\/debian\/?$/.test(source.uri)) continue
    const suite = source.suites.find((s) => !s.includes('-') && !s.includes('/'))
    if (suite)
      return { suite: envSuite ?? suite, mirror: envMirror ?? source.uri.replace(/\/$/, '') }
  }
  throw new Error(
    'no Debian archive in /etc/apt/sources.list{,.d}: set PSTORAGE_BENCH_SUITE and PSTORAGE_BENCH_MIRROR',
  )
}
