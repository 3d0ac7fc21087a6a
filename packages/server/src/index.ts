export { type AppOptions, createApp, type SwitchboardApp } from './app.js';
export {
  type Auth,
  createAuth,
  type Principal,
  requireScope,
  type Scope,
  type TokenConfig,
} from './auth.js';
export { type ClientOptions, createClient, type SwitchboardClient } from './client.js';
export {
  CBOR_TYPE,
  decodeBody,
  encodeBody,
  JSON_TYPE,
  type MediaType,
  requestMediaType,
  responseMediaType,
} from './codec.js';
export { toDocument } from './document.js';
export type { HotAnswer, HotHeader, HotRequest, HotRoutes } from './hot-routes.js';
export type { AppEnv, ServerState } from './http.js';
export {
  type ErrorBody,
  type ErrorReply,
  retryAfterSeconds,
  statusOf,
  toErrorReply,
  type WireCode,
} from './http-error.js';
export { Lifecycle } from './lifecycle.js';
export { type HttpFigures, PROMETHEUS_CONTENT_TYPE, prometheusText } from './metrics.js';
export { openApiDocument } from './openapi.js';
export type { ApiSubmit, EngineSubmit, ServerEngine, SwitchboardApi } from './port.js';
export {
  type BucketOptions,
  createRequestLimiter,
  type HttpRateLimits,
  type RequestLimiter,
} from './rate-limit.js';
export { DEFAULT_MAX_BODY_BYTES, readBody } from './read-body.js';
export type { Listening, RuntimeAdapter } from './runtime.js';
export {
  type EventStreamOptions,
  EventStreams,
  type EventSubscriber,
  type StreamEvent,
} from './sse.js';
export { toLeaseView, toTaskView } from './views.js';
