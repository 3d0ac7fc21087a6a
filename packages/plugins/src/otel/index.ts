/**
 * OpenTelemetry tracing for Switchboard, through `@opentelemetry/api` (an optional peer
 * dependency: only this subpath imports it). `otelTelemetry()` traces a Switchboard's tasks
 * (`createSwitchboard({ telemetry })`); `otelWorkerTelemetry()` traces a remote worker's runs
 * (`createWorker({ telemetry })`). Both use the global tracer provider unless given one, so
 * register an OpenTelemetry SDK first. See docs/tracing.md.
 *
 * @module
 */

export {
  ATTR,
  MESSAGING_SYSTEM,
  type OtelOptions,
  TRACER_NAME,
} from './otel-spans.js';
export { otelTelemetry } from './otel-telemetry.js';
export { otelWorkerTelemetry } from './otel-worker.js';
