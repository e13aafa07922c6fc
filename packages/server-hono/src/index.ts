export { type AppOptions, createApp, OPENAPI_INFO } from './app.js'
export { defaultHook, errorResponse, onError, onNotFound } from './errors.js'
export { jsonBody } from './json-body.js'
