export {
  type CompressionFormat,
  type CompressionOptions,
  DEFAULT_MAX_DECODED_BYTES,
  withCompression,
} from './builtin/compression.js';
export { type JsonSerializer, jsonSerializer } from './builtin/json.js';
export { type RestartWithBackoffOptions, restartWithBackoff } from './builtin/restart.js';
export { roundRobin } from './builtin/round-robin.js';
export {
  definePlugin,
  type PluginContext,
  type PluginHooks,
  type SwitchboardPlugin,
} from './define-plugin.js';
export {
  isBackend,
  isLoadBalancer,
  isRecoveryStrategy,
  isSerializer,
  PluginHost,
} from './plugin-host.js';
export {
  type StrategyFactory,
  StrategyRegistry,
  type StrategySpec,
} from './strategy-registry.js';
