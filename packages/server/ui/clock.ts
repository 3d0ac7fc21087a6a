import { signal } from '@preact/signals';

/** The time, ticking every second, for the ages a page shows (heartbeats). */
export const now = signal(Date.now());
setInterval(() => {
  now.value = Date.now();
}, 1_000);
