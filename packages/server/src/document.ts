import { SwitchboardError } from '@switchboard/core';

/** How deep a request document may nest; deeper is a 400 rather than a stack overflow. */
export const MAX_DEPTH = 128;

function invalid(message: string, path: string): SwitchboardError {
  return new SwitchboardError('invalid_request', message, { details: [{ path, message }] });
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that a decoded body is a JSON document and that no key can reach a prototype,
 * following the rule of Fastify's `secure-json-parse`: a `__proto__` key anywhere, or a
 * `constructor` key whose value has a `prototype` key, is a 400. `JSON.parse` keeps such
 * keys as own data properties, so they are harmless here, but a payload is handed on to
 * agents and plugins that may merge it into other objects.
 *
 * CBOR can carry more than JSON: maps with non-string keys, byte strings, tags (dates,
 * sets, regular expressions), shared references, `undefined`, non-finite numbers. None of
 * these has a JSON equivalent, and both encodings must carry the same document, so each is a
 * 400. Maps (which the CBOR decoder yields for every CBOR map) become plain objects.
 *
 * @returns the document, with CBOR maps turned into plain objects.
 * @throws SwitchboardError `invalid_request`, with the path of the offending value.
 */
export function toDocument(value: unknown): unknown {
  const seen = new Set<object>();
  const visit = (node: unknown, path: string, depth: number): unknown => {
    if (node === null || typeof node === 'string' || typeof node === 'boolean') return node;
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) throw invalid('numbers must be finite', path);
      return node;
    }
    if (typeof node !== 'object') throw invalid(`a ${typeof node} is not a JSON value`, path);
    if (depth >= MAX_DEPTH) throw invalid(`nested deeper than ${MAX_DEPTH} levels`, path);
    // A CBOR shared reference would make a DAG (or a cycle) of a tree; JSON has no such thing.
    if (seen.has(node)) throw invalid('shared references are not supported', path);
    seen.add(node);
    const at = (key: string | number) => (path === '' ? String(key) : `${path}.${key}`);
    if (Array.isArray(node)) {
      const out = new Array<unknown>(node.length);
      for (let i = 0; i < node.length; i++) out[i] = visit(node[i], at(i), depth + 1);
      return out;
    }
    let entries: Iterable<[unknown, unknown]>;
    if (node instanceof Map) entries = node.entries();
    else if (isPlainObject(node)) entries = Object.entries(node);
    else throw invalid('only JSON values are accepted (no tags, byte strings or sets)', path);
    const out: Record<string, unknown> = {};
    for (const [key, child] of entries) {
      if (typeof key !== 'string') throw invalid('object keys must be strings', path);
      if (key === '__proto__') throw invalid('the key "__proto__" is not allowed', at(key));
      if (
        key === 'constructor' &&
        typeof child === 'object' &&
        child !== null &&
        (child instanceof Map ? child.has('prototype') : Object.hasOwn(child, 'prototype'))
      ) {
        throw invalid('a "constructor" key with a "prototype" is not allowed', at(key));
      }
      // defineProperty, never assignment: no key can call a setter or touch a prototype.
      Object.defineProperty(out, key, {
        value: visit(child, at(key), depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return visit(value, '', 0);
}
