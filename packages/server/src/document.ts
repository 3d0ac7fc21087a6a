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
 * The dot-separated path of a key stack (`tasks.3.payload`), built only for an error. Not
 * `join('.')`: a key after an empty path starts the path afresh, so that `{"": {"": x}}`
 * names `""` as it always has.
 */
function pathOf(keys: readonly (string | number)[]): string {
  let path = '';
  for (const key of keys) path = path === '' ? String(key) : `${path}.${key}`;
  return path;
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
  // The path of the node being visited, as a stack: a path string per node would cost a
  // concatenation per key of every request, and is only read when a request is refused.
  const keys: (string | number)[] = [];
  const visit = (node: unknown, depth: number): unknown => {
    if (node === null || typeof node === 'string' || typeof node === 'boolean') return node;
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) throw invalid('numbers must be finite', pathOf(keys));
      return node;
    }
    if (typeof node !== 'object') {
      throw invalid(`a ${typeof node} is not a JSON value`, pathOf(keys));
    }
    if (depth >= MAX_DEPTH) throw invalid(`nested deeper than ${MAX_DEPTH} levels`, pathOf(keys));
    // A CBOR shared reference would make a DAG (or a cycle) of a tree; JSON has no such thing.
    if (seen.has(node)) throw invalid('shared references are not supported', pathOf(keys));
    seen.add(node);
    if (Array.isArray(node)) {
      const out = new Array<unknown>(node.length);
      for (let i = 0; i < node.length; i++) {
        keys.push(i);
        out[i] = visit(node[i], depth + 1);
        keys.pop();
      }
      return out;
    }
    let entries: Iterable<[unknown, unknown]>;
    if (node instanceof Map) entries = node.entries();
    else if (isPlainObject(node)) entries = Object.entries(node);
    else {
      throw invalid('only JSON values are accepted (no tags, byte strings or sets)', pathOf(keys));
    }
    const out: Record<string, unknown> = {};
    for (const [key, child] of entries) {
      if (typeof key !== 'string') throw invalid('object keys must be strings', pathOf(keys));
      keys.push(key);
      checkKey(key, child, keys);
      // defineProperty, never assignment: no key can call a setter or touch a prototype.
      Object.defineProperty(out, key, {
        value: visit(child, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      keys.pop();
    }
    return out;
  };
  return visit(value, 0);
}

/** The prototype rule of {@link toDocument} for one key; `keys` ends with `key`. */
function checkKey(key: string, child: unknown, keys: readonly (string | number)[]): void {
  if (key === '__proto__') throw invalid('the key "__proto__" is not allowed', pathOf(keys));
  if (
    key === 'constructor' &&
    typeof child === 'object' &&
    child !== null &&
    (child instanceof Map ? child.has('prototype') : Object.hasOwn(child, 'prototype'))
  ) {
    throw invalid('a "constructor" key with a "prototype" is not allowed', pathOf(keys));
  }
}

/**
 * {@link toDocument} for a value fresh from `JSON.parse`, which can only hold strings,
 * numbers, booleans, null, plain objects and arrays, each reached once: the depth, the
 * prototype rule and finite numbers (`1e999` parses as `Infinity`) are left to check, so it
 * walks without copying and answers the value itself. Same errors, same paths.
 *
 * @throws SwitchboardError `invalid_request`, with the path of the offending value.
 */
export function checkJsonDocument(value: unknown): unknown {
  const keys: (string | number)[] = [];
  const visit = (node: unknown, depth: number): void => {
    if (typeof node !== 'object' || node === null) {
      if (typeof node === 'number' && !Number.isFinite(node)) {
        throw invalid('numbers must be finite', pathOf(keys));
      }
      return;
    }
    if (depth >= MAX_DEPTH) throw invalid(`nested deeper than ${MAX_DEPTH} levels`, pathOf(keys));
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i];
        if (typeof child === 'string' || typeof child === 'boolean' || child === null) continue;
        keys.push(i);
        visit(child, depth + 1);
        keys.pop();
      }
      return;
    }
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const child = record[key];
      if (key === '__proto__' || key === 'constructor') {
        keys.push(key);
        checkKey(key, child, keys);
        keys.pop();
      }
      if (typeof child === 'string' || typeof child === 'boolean' || child === null) continue;
      keys.push(key);
      visit(child, depth + 1);
      keys.pop();
    }
  };
  visit(value, 0);
  return value;
}
