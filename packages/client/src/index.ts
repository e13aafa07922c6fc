export { ApiError, type ErrorBody } from './api-error.js'
export { type ClientOptions, createClient, PStorageClient } from './client.js'
export type { components, operations, paths } from './generated/schema.js'
export type { RequestOptions, RequestSpec, TransportOptions } from './transport.js'
