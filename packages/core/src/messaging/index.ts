export type { MessageBrokerOptions, RequestOptions, SendOptions } from './broker-options.js';
export { BucketQueue, createPriorityQueue } from './bucket-queue.js';
export type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterInit,
  DeadLetterQueueOptions,
  DeadLetterReason,
} from './dead-letter-queue.js';
export { DeadLetterQueue } from './dead-letter-queue.js';
export type { BrokerStats, Delivery, DeliveryHandler, NackOptions } from './delivery.js';
export type { Message, MessageType } from './envelope.js';
export { MESSAGE_TYPES } from './envelope.js';
export type { BusEvent, EventBusOptions, EventHandler, SubscribeOptions } from './event-bus.js';
export { EventBus } from './event-bus.js';
export type { MessageInit } from './message.js';
export { copyMessage, createMessage, isExpired } from './message.js';
export { MessageBroker } from './message-broker.js';
export type { Priority, PriorityLevel } from './priority.js';
export {
  invalidPriorityLevel,
  isPriorityLevel,
  MAX_PRIORITY_LEVEL,
  PRIORITIES,
  priorityLevel,
  priorityName,
} from './priority.js';
export type { TopicMatcher } from './topic-pattern.js';
export { assertTopic, compilePattern } from './topic-pattern.js';
export { VISIBILITY_TIMEOUT_HEADER, validateMessage } from './validate-message.js';
