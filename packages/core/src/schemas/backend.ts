import { isIP } from 'node:net'
import { posix } from 'node:path'
import { z } from 'zod'
import { IdSchema, listQuerySchema, TimestampSchema } from './common.js'

/** The backend types of seeds/000 §1, plus `local` (a directory on the server). */
export const BACKEND_TYPES = ['local', 'nfs', 's3', 'http', 'iscsi'] as const
export type BackendType = (typeof BACKEND_TYPES)[number]

/** seeds/000 §1 `status`: kept fresh by the periodic health check. */
export const BACKEND_STATUSES = ['online', 'offline', 'error'] as const
export type BackendStatus = (typeof BACKEND_STATUSES)[number]

/** What a secret reads as in every response: set, but never shown. */
export const SECRET_MASK = '********'

/** The config fields of each type that are secrets: sealed in the vault, masked in answers. */
export const BACKEND_SECRET_FIELDS: Readonly<Record<BackendType, readonly string[]>> =
  Object.freeze({
    local: [],
    nfs: [],
    s3: ['secret_access_key'],
    http: ['password'],
    iscsi: ['private_key', 'password'],
  })

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i

/** A host name (RFC 1123) or an IPv4/IPv6 address, as typed: never an option or a URL. */
export const HostSchema = z
  .string()
  .min(1)
  .max(253)
  .refine(
    (host) => isIP(host) !== 0 || host.split('.').every((label) => LABEL.test(label)),
    'must be a host name or an IP address',
  )
  .meta({ example: 'nas.example.com' })

const PortSchema = z.number().int().min(1).max(65_535)

/** An absolute POSIX path without NUL, `..` segments or control characters. */
export const AbsolutePathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine(
    (p) =>
      p.startsWith('/') &&
      !/\p{Cc}/u.test(p) &&
      !p.split('/').includes('..') &&
      posix.normalize(p) === p.replace(/\/+$/, '').replace(/^$/, '/'),
    'must be an absolute, normalised path (no `..`, no control characters)',
  )

/** An http(s) URL without credentials in it (they go in `username`/`password`). */
export const HttpUrlSchema = z
  .string()
  .max(2048)
  .refine((text) => {
    try {
      const url = new URL(text)
      return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username
    } catch {
      return false
    }
  }, 'must be an http:// or https:// URL without credentials in it')

/**
 * Mount options accepted for NFS `mount` mode: only these names, so no option can turn a
 * mount into something else (`exec`, `suid`, helpers, foreign file systems).
 */
export const NFS_MOUNT_OPTIONS: ReadonlySet<string> = new Set([
  'vers',
  'nfsvers',
  'proto',
  'port',
  'mountport',
  'ro',
  'rw',
  'soft',
  'hard',
  'timeo',
  'retrans',
  'rsize',
  'wsize',
  'nolock',
  'noatime',
  'nodiratime',
  'nconnect',
  'sec',
  'actimeo',
  'noac',
  'lookupcache',
  'sync',
  'async',
  'tcp',
])

const MountOptionSchema = z
  .string()
  .max(64)
  .refine(
    (option) => {
      const match = /^([a-z]+)(?:=([A-Za-z0-9._:-]{1,32}))?$/.exec(option)
      return match !== null && NFS_MOUNT_OPTIONS.has(match[1]!)
    },
    `must be one of ${[...NFS_MOUNT_OPTIONS].join(', ')} (name or name=value)`,
  )

/** `local`: a directory on the server, inside one of the configured local backend roots. */
export const LocalBackendConfigSchema = z
  .strictObject({ path: AbsolutePathSchema.meta({ example: '/srv/pstorage/templates' }) })
  .meta({ id: 'LocalBackendConfig' })

/** `nfs`: an NFS export, spoken to in userspace (NFSv3 over TCP) or mounted by the kernel. */
export const NfsBackendConfigSchema = z
  .strictObject({
    server: HostSchema,
    export: AbsolutePathSchema.meta({ example: '/exports/templates' }),
    mode: z.enum(['userspace', 'mount']).default('userspace'),
    port: PortSchema.optional().meta({
      description: 'NFS port; without it, asked of the portmapper',
    }),
    mount_port: PortSchema.optional().meta({
      description: 'MOUNT protocol port (userspace mode); without it, asked of the portmapper',
    }),
    mount_options: z
      .array(MountOptionSchema)
      .max(32)
      .optional()
      .meta({
        description: 'For `mount` mode only, allow-listed',
        example: ['vers=3', 'proto=tcp', 'hard'],
      }),
  })
  .meta({ id: 'NfsBackendConfig' })

/** `s3`: a bucket (and optional prefix) on AWS or any S3-compatible store. */
export const S3BackendConfigSchema = z
  .strictObject({
    endpoint: HttpUrlSchema.optional().meta({
      description: 'Absent for AWS; e.g. http://minio:9000',
      example: 'https://s3.example.com',
    }),
    region: z.string().min(1).max(64).default('us-east-1'),
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
      .meta({ example: 'templates' }),
    prefix: z
      .string()
      .max(512)
      .refine((p) => !p.startsWith('/') && !p.split('/').includes('..') && !/\p{Cc}/u.test(p))
      .optional()
      .meta({ description: 'Key prefix of the backend root', example: 'pstorage/' }),
    access_key_id: z.string().min(1).max(256),
    secret_access_key: z.string().min(1).max(1024).meta({ description: 'Secret: masked' }),
    force_path_style: z.boolean().default(false),
  })
  .meta({ id: 'S3BackendConfig' })

/** `http`: a read-only web server with directory indexes. */
export const HttpBackendConfigSchema = z
  .strictObject({
    url: HttpUrlSchema.meta({ example: 'https://mirror.example.com/images/' }),
    username: z.string().min(1).max(256).optional(),
    password: z.string().min(1).max(1024).optional().meta({ description: 'Secret: masked' }),
  })
  .meta({ id: 'HttpBackendConfig' })

/** `iscsi`: a Linux target host managed over SSH with targetcli or tgt. */
export const IscsiBackendConfigSchema = z
  .strictObject({
    host: HostSchema,
    ssh_port: PortSchema.default(22),
    username: z
      .string()
      .regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, 'must be a POSIX user name')
      .meta({ example: 'pstorage' }),
    private_key: z.string().min(1).max(16_384).optional().meta({ description: 'Secret: masked' }),
    password: z.string().min(1).max(1024).optional().meta({ description: 'Secret: masked' }),
    host_key_fingerprint: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'must be an OpenSSH SHA256 fingerprint')
      .optional()
      .meta({ description: 'Pinned host key; the connection test shows the one it saw' }),
    target_manager: z.enum(['targetcli', 'tgt']),
    use_sudo: z.boolean().default(false),
    backing_dir: AbsolutePathSchema.meta({ example: '/srv/luns' }),
    portal_address: z
      .string()
      .refine(
        (ip) => isIP(ip) !== 0,
        'must be an IP address of the target host (the portal binds it)',
      )
      .meta({ example: '192.0.2.10' }),
    portal_port: PortSchema.default(3260),
    tgt_control_port: z.number().int().min(0).max(32_767).optional().meta({
      description:
        'tgt only: the control port of the tgtd to manage (tgtadm -C), when a host runs several',
    }),
    tgt_config_dir: AbsolutePathSchema.optional().meta({
      description:
        'tgt only: where target configs are written for tgt-admin (default /etc/tgt/conf.d)',
    }),
  })
  .refine((c) => (c.private_key === undefined) !== (c.password === undefined), {
    message: 'exactly one of private_key and password is required',
    path: ['private_key'],
  })
  .meta({ id: 'IscsiBackendConfig' })

/** The config schema of each type (strict: unknown keys are a 422). */
export const BACKEND_CONFIG_SCHEMAS = Object.freeze({
  local: LocalBackendConfigSchema,
  nfs: NfsBackendConfigSchema,
  s3: S3BackendConfigSchema,
  http: HttpBackendConfigSchema,
  iscsi: IscsiBackendConfigSchema,
})

export type LocalBackendConfig = z.output<typeof LocalBackendConfigSchema>
export type NfsBackendConfig = z.output<typeof NfsBackendConfigSchema>
export type S3BackendConfig = z.output<typeof S3BackendConfigSchema>
export type HttpBackendConfig = z.output<typeof HttpBackendConfigSchema>
export type IscsiBackendConfig = z.output<typeof IscsiBackendConfigSchema>
/** The config of each backend type, secrets included (as the drivers get it). */
export interface BackendConfigs {
  local: LocalBackendConfig
  nfs: NfsBackendConfig
  s3: S3BackendConfig
  http: HttpBackendConfig
  iscsi: IscsiBackendConfig
}

const Extensions = z
  .array(
    z
      .string()
      .regex(/^\.?[a-z0-9][a-z0-9.+_-]{0,31}$/i)
      .transform((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase()),
  )
  .max(256)
const MimeTypes = z
  .array(
    z
      .string()
      .regex(/^[a-z0-9.+-]+\/[a-z0-9.+*-]+$/i)
      .transform((m) => m.toLowerCase()),
  )
  .max(256)

/** Extensions refused by default: pages a web server serving the backend would execute. */
export const DEFAULT_DENIED_EXTENSIONS: readonly string[] = Object.freeze([
  '.php',
  '.php3',
  '.php4',
  '.php5',
  '.php7',
  '.phtml',
  '.phar',
  '.jsp',
  '.jspx',
  '.asp',
  '.aspx',
  '.cgi',
  '.shtml',
  '.htaccess',
])

/** Sniffed content types refused by default (a PHP page renamed to `.iso` is still PHP). */
export const DEFAULT_DENIED_MIME_TYPES: readonly string[] = Object.freeze([
  'application/x-httpd-php',
])

/**
 * What uploads to a backend may be (seeds/000 "Validate file types for uploads"): by
 * extension and by the content type sniffed from the first bytes. An allow list, when
 * set, admits only what it names; deny lists always apply.
 */
export const UploadPolicySchema = z
  .strictObject({
    allowed_extensions: Extensions.nullable()
      .default(null)
      .meta({ description: 'Only these (null: any)', example: ['.iso', '.img', '.qcow2'] }),
    denied_extensions: Extensions.default([...DEFAULT_DENIED_EXTENSIONS]),
    allowed_mime_types: MimeTypes.nullable()
      .default(null)
      .meta({ description: 'Only these sniffed types, `type/*` allowed (null: any)' }),
    denied_mime_types: MimeTypes.default([...DEFAULT_DENIED_MIME_TYPES]),
    max_file_bytes: z
      .number()
      .int()
      .min(1)
      .nullable()
      .default(null)
      .meta({ description: 'Largest file accepted (null: no limit)' }),
  })
  .meta({ id: 'UploadPolicy' })
export type UploadPolicy = z.output<typeof UploadPolicySchema>

const NameSchema = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters')
  .meta({ example: 'templates-nfs' })

function createVariant<T extends BackendType, S extends z.ZodType>(type: T, config: S) {
  return z.strictObject({
    name: NameSchema,
    type: z.literal(type),
    config,
    upload_policy: UploadPolicySchema.optional(),
  })
}

/** `POST /api/v1/storage/backends`: the config is checked against the schema of `type`. */
export const CreateBackendRequestSchema = z
  .discriminatedUnion('type', [
    createVariant('local', LocalBackendConfigSchema),
    createVariant('nfs', NfsBackendConfigSchema),
    createVariant('s3', S3BackendConfigSchema),
    createVariant('http', HttpBackendConfigSchema),
    createVariant('iscsi', IscsiBackendConfigSchema),
  ])
  .meta({
    id: 'CreateBackendRequest',
    example: {
      name: 'templates-s3',
      type: 's3',
      config: {
        endpoint: 'http://minio.lab:9000',
        region: 'us-east-1',
        bucket: 'templates',
        access_key_id: 'AKIAEXAMPLE',
        secret_access_key: 'wJalrXUtnFEMI/K7MDENG',
        force_path_style: true,
      },
    },
  })
export type CreateBackendRequest = z.input<typeof CreateBackendRequestSchema>

/**
 * `PATCH /api/v1/storage/backends/{id}`: any of name, config, upload_policy. `config` is
 * merged into the current one and the result checked against the type's schema; a secret
 * left out, or sent as the mask, keeps its stored value. The type cannot change.
 */
export const UpdateBackendRequestSchema = z
  .strictObject({
    name: NameSchema.optional(),
    config: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "Fields of the backend type's config to change" }),
    upload_policy: UploadPolicySchema.optional(),
  })
  .meta({ id: 'UpdateBackendRequest', example: { config: { bucket: 'templates-2' } } })
export type UpdateBackendRequest = z.input<typeof UpdateBackendRequestSchema>

/** seeds/000 §1 `stats`, computed by the driver and cached with the time it was computed. */
export const BackendStatsSchema = z
  .object({
    used_bytes: z.number().int().min(0),
    total_bytes: z.number().int().min(0).nullable(),
    file_count: z.number().int().min(0),
    template_count: z.number().int().min(0),
    truncated: z.boolean().meta({ description: 'The walk stopped at its limit: lower bounds' }),
    updated_at: TimestampSchema.nullable().meta({ description: 'null: never computed yet' }),
  })
  .meta({ id: 'BackendStats' })
export type BackendStatsDoc = z.infer<typeof BackendStatsSchema>

/** seeds/000 §1 `StorageBackend`; secrets in `config` read as `********`. */
export const StorageBackendSchema = z
  .object({
    id: IdSchema,
    name: z.string(),
    type: z.enum(BACKEND_TYPES),
    status: z.enum(BACKEND_STATUSES),
    status_message: z.string().nullable().meta({ description: 'Why, when not online' }),
    config: z
      .record(z.string(), z.unknown())
      .meta({ description: 'The type-specific config, secrets masked' }),
    stats: BackendStatsSchema,
    upload_policy: UploadPolicySchema,
    last_checked_at: TimestampSchema.nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({
    id: 'StorageBackend',
    example: {
      id: '550e8400-e29b-41d4-a716-446655440000',
      name: 'templates-s3',
      type: 's3',
      status: 'online',
      status_message: null,
      config: {
        endpoint: 'http://minio.lab:9000',
        region: 'us-east-1',
        bucket: 'templates',
        access_key_id: 'AKIAEXAMPLE',
        secret_access_key: SECRET_MASK,
        force_path_style: true,
      },
      stats: {
        used_bytes: 2147483648,
        total_bytes: null,
        file_count: 12,
        template_count: 3,
        truncated: false,
        updated_at: '2026-01-20T10:30:00Z',
      },
      upload_policy: {
        allowed_extensions: null,
        denied_extensions: ['.php'],
        allowed_mime_types: null,
        denied_mime_types: ['application/x-httpd-php'],
        max_file_bytes: null,
      },
      last_checked_at: '2026-01-20T10:30:00Z',
      created_at: '2026-01-20T10:00:00Z',
      updated_at: '2026-01-20T10:00:00Z',
    },
  })
export type StorageBackend = z.infer<typeof StorageBackendSchema>

export const BACKEND_SORT_KEYS = ['name', 'type', 'status', 'created_at', 'updated_at'] as const

/** `GET /api/v1/storage/backends` query: paging, sort, name search, filters. */
export const ListBackendsQuerySchema = listQuerySchema(BACKEND_SORT_KEYS).extend({
  type: z.enum(BACKEND_TYPES).optional(),
  status: z.enum(BACKEND_STATUSES).optional(),
})

/** `GET /api/v1/storage/backends`. */
export const BackendListSchema = z
  .object({ backends: z.array(StorageBackendSchema), total: z.number().int().min(0) })
  .meta({ id: 'BackendList' })
export type BackendList = z.infer<typeof BackendListSchema>

/** `POST /api/v1/storage/backends/{id}/test`: never a 500, a structured answer. */
export const ConnectionTestSchema = z
  .object({
    ok: z.boolean(),
    latency_ms: z.number().min(0),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
    status: z.enum(BACKEND_STATUSES).meta({ description: 'The status this result sets' }),
    tested_at: TimestampSchema,
  })
  .meta({
    id: 'ConnectionTest',
    example: {
      ok: true,
      latency_ms: 12.5,
      message: 'Connected',
      details: { bucket: 'templates' },
      status: 'online',
      tested_at: '2026-01-20T10:30:00Z',
    },
  })
export type ConnectionTest = z.infer<typeof ConnectionTestSchema>

/** seeds/000 §2 `StorageFile`. */
export const StorageFileSchema = z
  .object({
    name: z.string(),
    path: z.string(),
    type: z.enum(['file', 'directory']),
    size: z.number().int().min(0).nullable(),
    mime_type: z.string().nullable(),
    modified_at: TimestampSchema,
    item_count: z.number().int().min(0).nullable(),
  })
  .meta({
    id: 'StorageFile',
    example: {
      name: 'ubuntu-24.04.iso',
      path: '/isos/ubuntu-24.04.iso',
      type: 'file',
      size: 2_700_000_000,
      mime_type: 'application/x-iso9660-image',
      modified_at: '2026-01-20T10:00:00Z',
      item_count: null,
    },
  })

const ApiPathSchema = z
  .string()
  .min(1)
  .max(4096)
  .meta({ description: 'A path in the backend, `/` its root', example: '/isos' })

/** `GET .../files?path=`: one page of a directory. */
export const ListFilesQuerySchema = z.strictObject({
  path: ApiPathSchema.default('/'),
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
  cursor: z.string().min(1).max(8192).optional().meta({ description: '`next_cursor` of a page' }),
})

/** One page of a directory listing. */
export const FileListSchema = z
  .object({
    path: z.string(),
    items: z.array(StorageFileSchema),
    next_cursor: z.string().nullable().meta({ description: 'null on the last page' }),
  })
  .meta({ id: 'FileList' })
export type FileList = z.infer<typeof FileListSchema>

/** `GET .../files/download?path=`. */
export const DownloadFileQuerySchema = z.strictObject({ path: ApiPathSchema })

/** `DELETE .../files`: files and directories (recursively), at most 1000. */
export const DeleteFilesRequestSchema = z
  .strictObject({ paths: z.array(ApiPathSchema).min(1).max(1000) })
  .meta({ id: 'DeleteFilesRequest', example: { paths: ['/isos/old.iso', '/tmp'] } })

const ItemErrorSchema = z.object({ code: z.string(), detail: z.string() })

/** One result per path, in request order. */
export const DeleteFilesResponseSchema = z
  .object({
    results: z.array(
      z.object({ path: z.string(), deleted: z.boolean(), error: ItemErrorSchema.optional() }),
    ),
  })
  .meta({ id: 'DeleteFilesResponse' })

/** `POST .../folders`: creates the folder and missing parents. */
export const CreateFolderRequestSchema = z
  .strictObject({ path: ApiPathSchema })
  .meta({ id: 'CreateFolderRequest', example: { path: '/isos/ubuntu' } })

/**
 * `POST .../files/move`: moves each of `paths` into the directory `destination` (created
 * if missing), or, with exactly one path and `rename: true`, to the path `destination`.
 */
export const MoveFilesRequestSchema = z
  .strictObject({
    paths: z.array(ApiPathSchema).min(1).max(1000),
    destination: ApiPathSchema,
    overwrite: z.boolean().optional().meta({ description: 'Replace target files (default false)' }),
    rename: z.boolean().optional().meta({ description: 'Move the one path to `destination`' }),
  })
  .refine((r) => !r.rename || r.paths.length === 1, {
    message: 'rename moves exactly one path',
    path: ['paths'],
  })
  .meta({ id: 'MoveFilesRequest', example: { paths: ['/a.iso'], destination: '/isos' } })

/** One result per path, in request order. */
export const MoveFilesResponseSchema = z
  .object({
    results: z.array(
      z.object({
        path: z.string(),
        to: z.string().nullable(),
        moved: z.boolean(),
        error: ItemErrorSchema.optional(),
        file: StorageFileSchema.optional(),
      }),
    ),
  })
  .meta({ id: 'MoveFilesResponse' })

/** `POST .../files` (multipart): the files stored. */
export const UploadFilesResponseSchema = z
  .object({ files: z.array(StorageFileSchema) })
  .meta({ id: 'UploadFilesResponse' })
