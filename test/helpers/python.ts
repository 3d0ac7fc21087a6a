// Finding a Python for the tests that run the Python client (clients/python needs 3.9 or later).
import { spawnSync } from 'node:child_process';

/** Why the Python client cannot run here, or undefined when `python3` is 3.9 or later. */
export function missingPython(): string | undefined {
  const probe = spawnSync('python3', ['-c', 'import sys; print(sys.version_info >= (3, 9))'], {
    encoding: 'utf8',
  });
  if (probe.error !== undefined || probe.status !== 0) return 'python3 not found';
  if (probe.stdout.trim() !== 'True') return 'python3 is older than 3.9';
  return undefined;
}
