// Submits one task for the worker of worker.ts (a page to fetch, the URL given as the first
// argument) and prints its result once it is done.
import { createClient } from '@switchboard/client';

const client = createClient({ baseUrl: process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:8787' });
const url = process.argv[2] ?? 'https://example.org';
const { id } = await client.submit({ capability: 'browser', payload: { url } });
const task = await client.result(id, 10_000);
console.log(JSON.stringify({ id, status: task.status, result: task.result }));
