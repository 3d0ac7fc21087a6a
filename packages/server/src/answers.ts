import type { Answer, AnswerOutcome } from '@switchboard/core';
import { toErrorReply } from './http-error.js';
import type { SwitchboardApi } from './port.js';

/**
 * Applies a batch of answers (`POST /v1/tasks/answers`, or the `answers` of a lease request),
 * each as `POST /v1/tasks/{id}/complete` or `/fail` would apply it alone. They run together,
 * so a durable backend writes them in one go, and one refused answer (a stale lease token, a
 * cancelled task) leaves the others applied: its outcome carries the error and the status it
 * would have had alone.
 *
 * @throws the first error that is a bug (not a `SwitchboardError`), once every answer has
 *   settled, so that it is answered and logged as a 500; the answers that succeeded stay
 *   applied, and a worker that sends them again is told 409 for each.
 */
export async function applyAnswers(
  engine: SwitchboardApi,
  answers: readonly Answer[],
): Promise<AnswerOutcome[]> {
  let bug: { error: unknown } | undefined;
  const outcomes = await Promise.all(
    answers.map(async (answer): Promise<AnswerOutcome> => {
      const { taskId, leaseToken } = answer;
      try {
        const task =
          answer.error !== undefined
            ? await engine.fail(taskId, leaseToken, answer.error)
            : await engine.complete(taskId, leaseToken, answer.result);
        return { taskId, status: task.status };
      } catch (error) {
        const reply = toErrorReply(error);
        if (reply.bug) bug ??= { error };
        const { code, message } = reply.body.error;
        return { taskId, error: { code, message, status: reply.status } };
      }
    }),
  );
  if (bug !== undefined) throw bug.error;
  return outcomes;
}
