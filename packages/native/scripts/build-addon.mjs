// Builds the Rust addon with @napi-rs/cli into switchboard-native.<platform>.node beside
// package.json, where the workspace's tests load it, and copies it into its platform package
// (npm/<platform>/, published as @switchboard/native-<platform>) when this repository has one
// for the platform. A failure exits nonzero, so `node scripts/build.mjs` (and `npm test`)
// fail loudly instead of silently testing the TypeScript fallback.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..');
const candidates = [join(dir, 'node_modules/.bin/napi'), join(dir, '../../node_modules/.bin/napi')];
const napi = candidates.find((path) => existsSync(path));
if (napi === undefined) {
  console.error(`build-addon: @napi-rs/cli not found (looked in ${candidates.join(', ')})`);
  process.exit(1);
}
const args = ['build', '--platform', '--release', '--config-path', 'napi.json', '--no-js'];
const result = spawnSync(napi, args, { cwd: dir, stdio: 'inherit' });
if (result.status !== 0) {
  console.error(
    `build-addon: \`napi ${args.join(' ')}\` failed (exit ${result.status ?? result.signal})`,
  );
  process.exit(result.status || 1);
}

// napi names the binary after the platform it built for: switchboard-native.<platform>.node.
for (const name of readdirSync(dir)) {
  const platform = /^switchboard-native\.(.+)\.node$/.exec(name)?.[1];
  if (platform === undefined) continue;
  const target = join(dir, 'npm', platform);
  if (existsSync(join(target, 'package.json'))) copyFileSync(join(dir, name), join(target, name));
  else {
    console.warn(
      `build-addon: no platform package npm/${platform}/ (see docs/releasing.md), so packing @switchboard/native here ships no addon for ${platform}`,
    );
  }
}
