import { SwitchboardError } from '@switchboard/core';
// The pure-JavaScript build: the package root loads the optional `cbor-extract` addon under
// Node and Bun, which aborts the whole Bun process on some malformed strings. Hostile bytes
// are parsed by plain JS only.
import { Decoder } from 'cbor-x/decode';
import { Encoder } from 'cbor-x/encode';
import { checkJsonDocument, toDocument } from './document.js';

/** The two media types of the API. */
export type MediaType = 'json' | 'cbor';

export const JSON_TYPE = 'application/json';
export const CBOR_TYPE = 'application/cbor';

// Records and shared structures are cbor-x extensions, not CBOR: a client never needs them,
// and with `mapsAsObjects: false` every CBOR map arrives as a Map that toDocument checks.
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The media type of a request body from its `Content-Type`; a missing header counts as
 * JSON (what `fetch` and most clients mean). `application/*+json` is JSON too.
 *
 * @throws SwitchboardError `unsupported_media_type` for anything else.
 */
export function requestMediaType(contentType: string | null): MediaType {
  if (contentType === null || contentType.trim() === '') return 'json';
  const type = (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
  if (type === JSON_TYPE || (type.startsWith('application/') && type.endsWith('+json'))) {
    return 'json';
  }
  if (type === CBOR_TYPE) return 'cbor';
  throw new SwitchboardError(
    'unsupported_media_type',
    `Content-Type ${JSON.stringify(type)} is not supported: send ${JSON_TYPE} or ${CBOR_TYPE}`,
  );
}

/**
 * Decodes a body as a JSON document. An empty body is `undefined` (for endpoints whose body
 * is optional).
 *
 * @throws SwitchboardError `invalid_request` for malformed JSON or CBOR, or a document that
 * {@link toDocument} refuses.
 */
export function decodeBody(bytes: Uint8Array, type: MediaType): unknown {
  if (bytes.byteLength === 0) return undefined;
  let value: unknown;
  try {
    value = type === 'json' ? JSON.parse(utf8.decode(bytes)) : decoder.decode(bytes);
  } catch (err) {
    throw new SwitchboardError('invalid_request', `malformed ${type.toUpperCase()} body`, {
      details: [{ path: '', message: `malformed ${type.toUpperCase()}` }],
      cause: err,
    });
  }
  return type === 'json' ? checkJsonDocument(value) : toDocument(value);
}

/** Encodes an answer as JSON text or CBOR bytes. */
export function encodeBody(value: unknown, type: MediaType): string | Uint8Array {
  return type === 'json' ? JSON.stringify(value) : encoder.encode(value);
}

function qualityOf(params: string[]): number {
  for (const param of params) {
    const [name, value] = param.split('=');
    if (name?.trim() === 'q') {
      const q = Number(value);
      return Number.isFinite(q) ? q : 0;
    }
  }
  return 1;
}

/**
 * The media type of an answer from the `Accept` header: CBOR when the client prefers it
 * (a higher quality, or listed first at the same one), JSON otherwise.
 */
export function responseMediaType(accept: string | null): MediaType {
  if (accept === null || !accept.includes('cbor')) return 'json';
  let json = { q: -1, at: Number.POSITIVE_INFINITY };
  let cbor = { q: -1, at: Number.POSITIVE_INFINITY };
  accept.split(',').forEach((range, at) => {
    const [type = '', ...params] = range.split(';');
    const name = type.trim().toLowerCase();
    const q = qualityOf(params);
    if (name === CBOR_TYPE && q > cbor.q) cbor = { q, at };
    else if ((name === JSON_TYPE || name === 'application/*' || name === '*/*') && q > json.q) {
      json = { q, at };
    }
  });
  if (cbor.q <= 0) return 'json';
  return cbor.q > json.q || (cbor.q === json.q && cbor.at < json.at) ? 'cbor' : 'json';
}
