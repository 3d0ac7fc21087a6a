import { createDurableObjectBackend } from '@switchboard/plugins/durable-object';
import { describe, expect, it } from 'vitest';

// The backend's own behaviour runs on workerd (test/edge/edge-backend.test.ts); what is
// checked here fails before any storage is touched.
describe('createDurableObjectBackend options', () => {
  const fails = (options: unknown, message: RegExp) =>
    expect(() => createDurableObjectBackend(options as never)).toThrow(
      expect.objectContaining({ code: 'invalid_config', message: expect.stringMatching(message) }),
    );

  it('names an unknown option and the known ones', () => {
    fails({ storage: {}, prefx: 'a:' }, /unknown option "prefx".*known: storage, prefix/);
  });

  it('says what the storage lacks when it is not ctx.storage', () => {
    fails({}, /storage must be the Durable Object's ctx.storage \(it has no list\(\) method\)/);
    fails({ storage: { list() {}, put() {} } }, /no delete\(\) method/);
    fails(undefined, /options must be an object with storage/);
  });

  it('refuses an empty prefix and a record limit below 1024', () => {
    const storage = { list() {}, put() {}, delete() {} };
    fails({ storage, prefix: '' }, /prefix must be a non-empty string/);
    fails({ storage, maxRecordBytes: 10 }, /maxRecordBytes must be a whole number ≥ 1024, got 10/);
  });
});
