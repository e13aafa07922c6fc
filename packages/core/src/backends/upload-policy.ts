import { PStorageError } from '../errors.js'
import type { UploadPolicy } from '../schemas/backend.js'
import { asAsyncIterable } from './driver-kit.js'

/** Bytes {@link sniffMimeType} looks at: enough for the ISO 9660 descriptor at 32 KiB + 1. */
export const SNIFF_BYTES = 32_774

const ascii = (bytes: Uint8Array, at: number, text: string): boolean => {
  if (bytes.length < at + text.length) return false
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false
  return true
}

/** Magic numbers of what a storage backend typically holds, and of what it must not. */
const SIGNATURES: readonly (readonly [string, (b: Uint8Array) => boolean])[] = [
  ['application/x-iso9660-image', (b) => ascii(b, 0x8001, 'CD001')],
  ['application/x-qemu-disk', (b) => ascii(b, 0, 'QFI\xfb')],
  ['application/x-vhdx', (b) => ascii(b, 0, 'vhdxfile')],
  ['application/x-vmdk', (b) => ascii(b, 0, 'KDMV')],
  ['application/gzip', (b) => b[0] === 0x1f && b[1] === 0x8b],
  ['application/x-xz', (b) => ascii(b, 0, '\xfd7zXZ\x00')],
  ['application/zstd', (b) => ascii(b, 0, '\x28\xb5\x2f\xfd')],
  ['application/x-bzip2', (b) => ascii(b, 0, 'BZh')],
  ['application/zip', (b) => ascii(b, 0, 'PK\x03\x04')],
  ['application/x-executable', (b) => ascii(b, 0, '\x7fELF')],
  ['application/x-msdownload', (b) => ascii(b, 0, 'MZ')],
  ['application/pdf', (b) => ascii(b, 0, '%PDF-')],
  ['image/png', (b) => ascii(b, 0, '\x89PNG\r\n\x1a\n')],
  ['image/jpeg', (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ['application/x-tar', (b) => ascii(b, 257, 'ustar')],
  ['text/x-shellscript', (b) => ascii(b, 0, '#!')],
]

/**
 * The content type of a file from its first bytes (at least {@link SNIFF_BYTES} of them, or
 * the whole file), or `undefined` when nothing is recognised. PHP is found anywhere in the
 * first bytes, since a page can hide behind another header (a GIF with `<?php` in it).
 *
 * @example
 * ```ts
 * sniffMimeType(new TextEncoder().encode('<?php echo 1;')) // 'application/x-httpd-php'
 * ```
 */
export function sniffMimeType(head: Uint8Array): string | undefined {
  const text = new TextDecoder('latin1').decode(head.subarray(0, Math.min(head.length, 4096)))
  if (/<\?php|<\?=/i.test(text)) return 'application/x-httpd-php'
  for (const [type, matches] of SIGNATURES) if (matches(head)) return type
  return undefined
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.')
  return dot <= 0 ? '' : name.slice(dot).toLowerCase()
}

function mimeMatches(type: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => p === type || (p.endsWith('/*') && type.startsWith(p.slice(0, -1))))
}

/**
 * Checks a file name against the policy's extension lists: `validation_error`-free, a
 * refused name is `unsupported_media_type` (415), before a byte is stored.
 */
export function checkUploadName(policy: UploadPolicy, name: string): void {
  const ext = extensionOf(name)
  // `archive.php.iso` is refused for `.php` too: Apache may run any dotted part of a name.
  const parts = name
    .toLowerCase()
    .split('.')
    .slice(1)
    .map((p) => `.${p}`)
  const denied = parts.find((p) => policy.denied_extensions.includes(p))
  if (denied !== undefined || (name.startsWith('.') && policy.denied_extensions.includes(name))) {
    throw new PStorageError(
      'unsupported_media_type',
      `Files of type ${denied ?? name} are not accepted by this backend`,
    )
  }
  if (policy.allowed_extensions !== null && !policy.allowed_extensions.includes(ext)) {
    throw new PStorageError(
      'unsupported_media_type',
      `Only ${policy.allowed_extensions.join(', ')} files are accepted by this backend`,
    )
  }
}

/** Checks sniffed content against the policy's content type lists. */
export function checkUploadContent(policy: UploadPolicy, name: string, head: Uint8Array): void {
  const type = sniffMimeType(head) ?? 'application/octet-stream'
  if (mimeMatches(type, policy.denied_mime_types)) {
    throw new PStorageError(
      'unsupported_media_type',
      `${name}: content of type ${type} is not accepted by this backend`,
    )
  }
  if (policy.allowed_mime_types !== null && !mimeMatches(type, policy.allowed_mime_types)) {
    throw new PStorageError(
      'unsupported_media_type',
      `${name}: content of type ${type} is not among the accepted types`,
    )
  }
}

/**
 * Wraps an upload's byte stream so the policy is enforced while it streams: the first
 * {@link SNIFF_BYTES} are held back and sniffed before anything reaches the driver, and the
 * size limit ends the stream with `payload_too_large`. The driver's atomic write then
 * leaves nothing behind.
 */
export async function* enforceUploadPolicy(
  policy: UploadPolicy,
  name: string,
  source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  checkUploadName(policy, name)
  const held: Uint8Array[] = []
  let heldBytes = 0
  let total = 0
  let sniffed = false
  const release = function* () {
    const head = new Uint8Array(heldBytes)
    let at = 0
    for (const chunk of held) {
      head.set(chunk, at)
      at += chunk.length
    }
    checkUploadContent(policy, name, head)
    sniffed = true
    held.length = 0
    if (head.length > 0) yield head
  }
  for await (const chunk of asAsyncIterable(source)) {
    total += chunk.length
    if (policy.max_file_bytes !== null && total > policy.max_file_bytes) {
      throw new PStorageError(
        'payload_too_large',
        `${name} is larger than this backend accepts (${policy.max_file_bytes} bytes)`,
      )
    }
    if (sniffed) {
      yield chunk
      continue
    }
    held.push(chunk)
    heldBytes += chunk.length
    if (heldBytes >= SNIFF_BYTES) yield* release()
  }
  if (!sniffed) yield* release()
}
