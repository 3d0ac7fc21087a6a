import { SwitchboardError } from '@switchboard/core';

type Slot = Record<string | number, unknown>;

function refuse(why: string): SwitchboardError {
  return new SwitchboardError('decode_error', `[switchboard] [cbor] ${why}`);
}

/** Values that are kept as decoded: scalars, dates (tags 0/1) and byte strings. */
function isLeaf(value: unknown): boolean {
  return (
    value === null ||
    typeof value !== 'object' ||
    value instanceof Uint8Array ||
    value instanceof Date
  );
}

function keyName(key: unknown): string {
  const name =
    typeof key === 'string'
      ? key
      : typeof key === 'number' && Number.isFinite(key)
        ? String(key)
        : undefined;
  if (name === undefined) throw refuse(`map keys must be strings, got a ${typeof key}`);
  if (name === '__proto__') throw refuse('the key "__proto__" is not allowed');
  return name;
}

/**
 * Turns what cbor-x decoded (maps as `Map`) into a JSON-like document of plain objects and
 * arrays, refusing what a JSON document cannot hold or what is unsafe to hand on:
 * - a `__proto__` key (assigned, it would replace the object's prototype);
 * - a key that is not a string or a finite number (numbers become strings, as in JSON);
 * - a value reached twice (CBOR value-sharing tags 28/29 can build cycles, or a small
 *   input that expands exponentially when re-encoded as JSON);
 * - tagged values other than dates and byte strings (`Error`, `RegExp`, `Set`, unknown tags).
 * It walks with an explicit stack, so nesting depth cannot overflow the call stack.
 *
 * @throws SwitchboardError `decode_error` naming what was refused.
 */
export function toDocument(root: unknown): unknown {
  if (isLeaf(root)) return root;
  const seen = new Set<object>();
  const holder: unknown[] = [undefined];
  const stack: [Slot, string | number, object][] = [[holder as unknown as Slot, 0, root as object]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [parent, key, value] = next;
    if (seen.has(value)) throw refuse('shared or cyclic references are not allowed');
    seen.add(value);
    if (Array.isArray(value)) {
      // Decoded arrays are fresh, so they are filled in place rather than copied.
      parent[key] = value;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (!isLeaf(item)) stack.push([value as unknown as Slot, i, item as object]);
      }
    } else if (value instanceof Map) {
      const object: Slot = {};
      parent[key] = object;
      for (const [k, v] of value) {
        // Assigning is safe: the one accessor key on Object.prototype is refused above.
        const name = keyName(k);
        object[name] = v;
        if (!isLeaf(v)) stack.push([object, name, v as object]);
      }
    } else {
      const kind = (value as { constructor?: { name?: unknown } }).constructor?.name;
      throw refuse(`unsupported value (${typeof kind === 'string' ? kind : 'object'})`);
    }
  }
  return holder[0];
}
