#!/usr/bin/env node
import process from 'node:process';

// cbor-x's optional native string extractor (cbor-extract) aborts Bun on some inputs, and
// request bodies are untrusted: CBOR is decoded by the pure-JS decoder. It must be set
// before cbor-x loads, hence the dynamic imports.
process.env.CBOR_NATIVE_ACCELERATION_DISABLED ??= 'true';
const { main } = await import('../cli.js');
const { nodeRuntime } = await import('../node.js');
await main(nodeRuntime);
