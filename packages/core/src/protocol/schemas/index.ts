import {
  agentListSchema,
  agentRegisterSchema,
  agentViewSchema,
  heartbeatSchema,
  leaseRequestSchema,
} from './agent-schema.js';
import { errorBodySchema } from './common.js';
import { eventDataSchema, eventsQuerySchema, publishEventSchema } from './event-schema.js';
import {
  fairnessKeyBodySchema,
  fairnessKeyViewSchema,
  fairnessViewSchema,
} from './fairness-schema.js';
import { messageSchema } from './message-schema.js';
import {
  progressAnswerSchema,
  progressReportSchema,
  streamChunkSchema,
  streamQuerySchema,
} from './progress-schema.js';
import { scheduleBodySchema, scheduleListSchema, scheduleViewSchema } from './schedule-schema.js';
import { healthSchema, statsSchema } from './stats-schema.js';
import {
  answersResponseSchema,
  answersSchema,
  batchAcceptedSchema,
  completeSchema,
  extendSchema,
  failSchema,
  leaseResponseSchema,
  resultQuerySchema,
  taskAcceptedSchema,
  taskBatchSchema,
  taskLeaseSchema,
  taskListQuerySchema,
  taskListSchema,
  taskPageSchema,
  taskSubmitSchema,
  taskViewSchema,
} from './task-schema.js';

export {
  type AgentRegister,
  type AgentRegisterInput,
  type AgentView,
  agentListSchema,
  agentMetricsSchema,
  agentRegisterSchema,
  agentRoleSchema,
  agentStateSchema,
  agentViewSchema,
  type CapabilitySpec,
  capabilitySchema,
  type Heartbeat,
  heartbeatSchema,
  type LeaseRequest,
  leaseRequestSchema,
  MAX_LEASE_BATCH,
  MAX_LEASE_WAIT_MS,
} from './agent-schema.js';
export {
  ERROR_CODES,
  type ErrorBody,
  errorBodySchema,
  issueSchema,
  MAX_KEY_LENGTH,
  MAX_TEXT_LENGTH,
  metadataSchema,
  prioritySchema,
  type ValidationIssue,
} from './common.js';
export {
  type EventData,
  type EventsQuery,
  eventDataSchema,
  eventsQuerySchema,
  MAX_TOPICS,
  type PublishEvent,
  publishEventSchema,
} from './event-schema.js';
export { type MessageInput, messageSchema, messageTypeSchema } from './message-schema.js';
export {
  MAX_REPORT_CHUNKS,
  type ProgressReportRequest,
  progressAnswerSchema,
  progressReportSchema,
  streamChunkSchema,
  streamQuerySchema,
} from './progress-schema.js';
export { healthSchema, type Stats, statsSchema } from './stats-schema.js';
export {
  type Answer,
  type AnswerOutcome,
  answerOutcomeSchema,
  answerSchema,
  answersResponseSchema,
  answersSchema,
  batchAcceptedSchema,
  type CompleteRequest,
  completeSchema,
  type ExtendRequest,
  extendSchema,
  type FailRequest,
  failSchema,
  leaseResponseSchema,
  MAX_ANSWERS,
  MAX_ATTEMPTS,
  MAX_BATCH_SIZE,
  MAX_RESULT_WAIT_MS,
  MAX_TIMEOUT_MS,
  type ResultQuery,
  resultQuerySchema,
  type TaskBatch,
  type TaskLease,
  type TaskListRequest,
  type TaskPageView,
  type TaskStatus,
  type TaskSubmit,
  type TaskSubmitInput,
  type TaskView,
  taskAcceptedSchema,
  taskBatchSchema,
  taskErrorSchema,
  taskLeaseSchema,
  taskListQuerySchema,
  taskListSchema,
  taskPageSchema,
  taskProgressSchema,
  taskStatusSchema,
  taskSubmitSchema,
  taskViewSchema,
} from './task-schema.js';

/**
 * Every body and query the HTTP API reads, by OpenAPI component name. The server validates
 * with these; its OpenAPI document converts them with `z.toJSONSchema(schema, { io: 'input' })`.
 */
export const requestSchemas = {
  TaskSubmit: taskSubmitSchema,
  TaskBatch: taskBatchSchema,
  TaskComplete: completeSchema,
  TaskFail: failSchema,
  TaskExtend: extendSchema,
  TaskProgressReport: progressReportSchema,
  StreamQuery: streamQuerySchema,
  TaskAnswers: answersSchema,
  ResultQuery: resultQuerySchema,
  TaskListQuery: taskListQuerySchema,
  AgentRegister: agentRegisterSchema,
  Heartbeat: heartbeatSchema,
  LeaseRequest: leaseRequestSchema,
  EventsQuery: eventsQuerySchema,
  PublishEvent: publishEventSchema,
  Message: messageSchema,
  ScheduleBody: scheduleBodySchema,
  FairnessKeyBody: fairnessKeyBodySchema,
} as const;

/**
 * Every answer the HTTP API sends, by OpenAPI component name; convert with
 * `z.toJSONSchema(schema, { io: 'output' })`.
 */
export const responseSchemas = {
  Task: taskViewSchema,
  TaskLease: taskLeaseSchema,
  TaskProgressAnswer: progressAnswerSchema,
  StreamChunk: streamChunkSchema,
  TaskAccepted: taskAcceptedSchema,
  BatchAccepted: batchAcceptedSchema,
  TaskList: taskListSchema,
  TaskPage: taskPageSchema,
  LeaseResponse: leaseResponseSchema,
  AnswersResponse: answersResponseSchema,
  Agent: agentViewSchema,
  AgentList: agentListSchema,
  Event: eventDataSchema,
  Schedule: scheduleViewSchema,
  ScheduleList: scheduleListSchema,
  FairnessKey: fairnessKeyViewSchema,
  Fairness: fairnessViewSchema,
  Stats: statsSchema,
  Health: healthSchema,
  ErrorBody: errorBodySchema,
} as const;
