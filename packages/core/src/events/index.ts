/**
 * The in-process event bus and its topic patterns.
 *
 * @module
 */
export type { BusEvent, EventBusOptions, EventHandler, SubscribeOptions } from './event-bus.js';
export { EventBus } from './event-bus.js';
export type { TopicMatcher } from './topic-pattern.js';
export { assertTopic, compilePattern } from './topic-pattern.js';
