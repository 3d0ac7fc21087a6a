/**
 * The Python client and worker (clients/python) against the real server: runs their unittest
 * suite, which starts the built server bundle on 127.0.0.1 (several times, one of them on the
 * journal backend killed and drained mid-run). Skipped, saying so, when no Python 3.9 or later
 * is on the PATH.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { missingPython } from '../helpers/python.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const serverBin = join(root, 'packages/server/dist/bin/node.js');

const missing = missingPython();
if (missing !== undefined) {
  console.warn(`python client: ${missing}, the Python client's tests are skipped`);
}

describe.skipIf(missing !== undefined)('the Python client (clients/python)', () => {
  it('passes its unittest suite against the built server', { timeout: 180_000 }, async () => {
    expect(existsSync(serverBin), `${serverBin} is missing: run node scripts/build.mjs`).toBe(true);
    const run = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = execFile(
        'python3',
        ['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-v'],
        {
          cwd: root,
          env: {
            ...process.env,
            SWITCHBOARD_SERVER_BIN: serverBin,
            NODE: process.execPath,
            // No bytecode written into the tree by a test run.
            PYTHONDONTWRITEBYTECODE: '1',
          },
          timeout: 170_000,
          maxBuffer: 16 << 20,
        },
        (error, stdout, stderr) => {
          resolve({ code: error === null ? 0 : (child.exitCode ?? 1), output: stdout + stderr });
        },
      );
    });
    // unittest writes its report to stderr; the whole of it is the message when it fails.
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/^OK/m);
  });
});
