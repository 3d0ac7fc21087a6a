/** The `cbor` serializer (`cbor-x`), safe on untrusted input, optionally compressed. */
export {
  CBOR_SERIALIZER,
  type CborOptions,
  type CborSerializer,
  cbor,
  cborSerializer,
} from './cbor.js';
