export type { MessageBrokerOptions, RequestOptions, SendOptions } from './broker-options.js';
export type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterInit,
  DeadLetterQueueOptions,
  DeadLetterReason,
} from './dead-letter-queue.js';
export { DeadLetterQueue } from './dead-letter-queue.js';
export type { BrokerStats, Delivery, DeliveryHandler, NackOptions } from './delivery.js';
export type { MessageInit } from './message.js';
export { copyMessage, createMessage, isExpired } from './message.js';
export { MessageBroker } from './message-broker.js';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  type HandleContext,
  type ProtocolFailure,
  ProtocolHandler,
  type ProtocolHandlerOptions,
  type ProtocolStage,
  type ProtocolStats,
} from './protocol-handler.js';
export { VISIBILITY_TIMEOUT_HEADER, validateMessage } from './validate-message.js';
