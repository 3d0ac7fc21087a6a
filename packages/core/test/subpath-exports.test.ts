import { existsSync, readFileSync } from 'node:fs';
import * as root from '@switchboard/core';
import * as broker from '@switchboard/core/broker';
import * as coordinator from '@switchboard/core/coordinator';
import * as protocol from '@switchboard/core/protocol';
import * as resources from '@switchboard/core/resources';
import { describe, expect, it } from 'vitest';

const pkgDir = new URL('../', import.meta.url);

describe('subpath exports of @switchboard/core', () => {
  it('give the same values as the root export, so that an instanceof check holds across both', () => {
    const rootValues = new Map<string, unknown>(Object.entries(root));
    for (const sub of [broker, coordinator, protocol, resources]) {
      for (const [name, value] of Object.entries(sub))
        expect(rootValues.get(name), name).toBe(value);
    }
    expect(coordinator.ExecutionCoordinator).toBe(root.ExecutionCoordinator);
    expect(coordinator.planDag).toBe(root.planDag);
    expect(resources.ResourceNegotiator).toBe(root.ResourceNegotiator);
    expect(broker.MessageBroker).toBe(root.MessageBroker);
    expect(protocol.taskSubmitSchema).toBe(root.taskSubmitSchema);
  });

  it('name in package.json a source entry that the build bundles and a declaration path beside it', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', pkgDir), 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
    };
    expect(Object.keys(pkg.exports)).toEqual(
      expect.arrayContaining(['.', './broker', './coordinator', './protocol', './resources']),
    );
    for (const target of Object.values(pkg.exports)) {
      const entry = /^\.\/dist\/(.+)\.js$/.exec(target.default)?.[1];
      expect(entry, target.default).toBeDefined();
      expect(target.types).toBe(`./dist/${entry}.d.ts`);
      expect(existsSync(new URL(`src/${entry}.ts`, pkgDir)), `src/${entry}.ts`).toBe(true);
    }
  });
});
