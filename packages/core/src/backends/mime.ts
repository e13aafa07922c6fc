/** The content type of files whose extension is not in the table (RFC 2046 §4.5.1). */
export const DEFAULT_MIME_TYPE = 'application/octet-stream'

// A small table for what a template store holds; anything else is octet-stream. Types per
// the IANA media types registry; disk images have no registered type, so they use the
// `application/x-…` names QEMU and libvirt tools use.
// A Map, not an object: `x.constructor` must not look up Object.prototype.
const MIME_TYPES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    txt: 'text/plain',
    log: 'text/plain',
    md: 'text/markdown',
    csv: 'text/csv',
    html: 'text/html',
    htm: 'text/html',
    css: 'text/css',
    js: 'text/javascript',
    json: 'application/json',
    xml: 'application/xml',
    yaml: 'application/yaml',
    yml: 'application/yaml',
    pdf: 'application/pdf',
    zip: 'application/zip',
    gz: 'application/gzip',
    tgz: 'application/gzip',
    tar: 'application/x-tar',
    xz: 'application/x-xz',
    zst: 'application/zstd',
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gif: 'image/gif',
    svg: 'image/svg+xml',
    webp: 'image/webp',
    iso: 'application/x-iso9660-image',
    img: 'application/x-raw-disk-image',
    raw: 'application/x-raw-disk-image',
    qcow2: 'application/x-qemu-disk',
    vhd: 'application/x-vhd',
    vhdx: 'application/x-vhdx',
    vmdk: 'application/x-vmdk',
    ova: 'application/x-virtualbox-ova',
  }),
)

/** Extensions counted as templates by `BackendStats.template_count` (disk and ISO images). */
export const TEMPLATE_EXTENSIONS: ReadonlySet<string> = new Set([
  'img',
  'raw',
  'qcow2',
  'vhd',
  'vhdx',
  'iso',
])

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.')
  // `.bashrc` has no extension; `a.` has an empty one.
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase()
}

/**
 * The content type of a file name, from its extension (case-insensitive).
 *
 * @example
 * ```ts
 * mimeTypeOf('alpine.ISO') // 'application/x-iso9660-image'
 * mimeTypeOf('blob')       // 'application/octet-stream'
 * ```
 */
export function mimeTypeOf(name: string): string {
  return MIME_TYPES.get(extensionOf(name)) ?? DEFAULT_MIME_TYPE
}

/**
 * True if the file name has a template extension ({@link TEMPLATE_EXTENSIONS}).
 *
 * @example
 * ```ts
 * isTemplateName('debian-12.qcow2') // true
 * ```
 */
export function isTemplateName(name: string): boolean {
  return TEMPLATE_EXTENSIONS.has(extensionOf(name))
}
