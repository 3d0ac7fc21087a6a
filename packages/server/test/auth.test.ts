import { describe, expect, it } from 'vitest';
import { createAuth, requireScope } from '../src/auth.js';

describe('createAuth', () => {
  it('is off with no token: everyone is admin', async () => {
    const auth = createAuth({ admin: '' });
    expect(auth.enabled).toBe(false);
    await expect(auth.authenticate(null)).resolves.toMatchObject({ scope: 'admin' });
  });

  it('knows each scope by its token, and several tokens per scope', async () => {
    const auth = createAuth({ admin: 'a-secret', client: ['c-1', 'c-2'], agent: 'g-secret' });
    await expect(auth.authenticate('Bearer a-secret')).resolves.toMatchObject({ scope: 'admin' });
    await expect(auth.authenticate('bearer c-2')).resolves.toMatchObject({ scope: 'client' });
    await expect(auth.authenticate('Bearer g-secret')).resolves.toMatchObject({ scope: 'agent' });
  });

  it('refuses a missing, malformed or unknown token with unauthorized', async () => {
    const auth = createAuth({ client: 'c-1' });
    for (const header of [null, '', 'c-1', 'Basic c-1', 'Bearer c-1x', 'Bearer c-', 'Bearer ']) {
      await expect(auth.authenticate(header)).rejects.toMatchObject({ code: 'unauthorized' });
    }
  });

  it('gives each token a stable id that does not reveal it', async () => {
    const auth = createAuth({ client: ['c-1', 'c-2'] });
    const one = await auth.authenticate('Bearer c-1');
    expect(one.tokenId).toMatch(/^client:[0-9a-f]{12}$/);
    expect(one.tokenId).not.toContain('c-1');
    expect((await auth.authenticate('Bearer c-2')).tokenId).not.toBe(one.tokenId);
    expect((await auth.authenticate('Bearer c-1')).tokenId).toBe(one.tokenId);
  });
});

describe('requireScope', () => {
  it('lets admin through everywhere and others only where allowed', () => {
    expect(() => requireScope({ scope: 'admin', tokenId: 'a' }, [])).not.toThrow();
    expect(() => requireScope({ scope: 'client', tokenId: 'c' }, ['client'])).not.toThrow();
    expect(() => requireScope({ scope: 'agent', tokenId: 'g' }, ['client'])).toThrow(
      expect.objectContaining({ code: 'forbidden' }),
    );
  });
});
