export { ApiError, type ErrorBody } from './api-error.js'
export {
  type ClientOptions,
  createClient,
  type DataWriteResult,
  type DownloadOptions,
  PStorageClient,
  type Tokens,
  type UploadFile,
  type UploadFilesOptions,
  type UploadFilesResult,
  type UploadOptions,
} from './client.js'
export type { Body, Ok, Query } from './generated/operations.js'
export type { components, operations, paths } from './generated/schema.js'
export type {
  RawRequest,
  RequestOptions,
  RequestSpec,
  Transport,
  TransportOptions,
} from './transport.js'
