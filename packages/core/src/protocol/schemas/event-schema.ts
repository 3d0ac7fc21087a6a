import { z } from 'zod';
import { keyString } from './common.js';

/** The most topics one events stream may subscribe to. */
export const MAX_TOPICS = 100;

// A topic or pattern: dot-separated segments of letters, digits, `_`, `-`, or `*` / `**`.
const TOPIC_PATTERN = /^(\*\*?|[\w-]+)(\.(\*\*?|[\w-]+))*$/;

const topicPattern = z
  .string()
  .max(256)
  .regex(TOPIC_PATTERN, 'expected dot-separated segments, * or **');

/**
 * The query of `GET /v1/events`: `topics` is a comma-separated list of patterns
 * (`task.*,agent.failed`), parsed into an array. It is a codec rather than a transform, so
 * `z.toJSONSchema` describes both sides (a string in, an array out). Absent means every topic.
 */
export const eventsQuerySchema = z
  .object({
    topics: z
      .codec(z.string().max(MAX_TOPICS * 257), z.array(topicPattern).min(1).max(MAX_TOPICS), {
        decode: (text) =>
          text
            .split(',')
            .map((topic) => topic.trim())
            .filter((topic) => topic !== ''),
        encode: (topics) => topics.join(','),
      })
      .exactOptional(),
  })
  .meta({ id: 'EventsQuery' });

/** The body of `POST /v1/events`. */
export const publishEventSchema = z
  .object({
    topic: keyString('Dot-separated; task.* and agent.* are reserved').regex(
      /^[\w-]+(\.[\w-]+)*$/,
      'expected dot-separated segments of letters, digits, _ or -',
    ),
    data: z.unknown().describe('Any JSON value').exactOptional(),
  })
  .meta({ id: 'PublishEvent' });

/** The data of one server-sent event: at least `topic` and `at`, plus the ids concerned. */
export const eventDataSchema = z
  .looseObject({ topic: z.string(), at: z.number().int().min(0).describe('Epoch ms') })
  .meta({ id: 'Event' });

/** A validated events query. */
export type EventsQuery = z.output<typeof eventsQuerySchema>;
/** A validated publish body. */
export type PublishEvent = z.output<typeof publishEventSchema>;
/** One event's data. */
export type EventData = z.output<typeof eventDataSchema>;
