/** The `json` serializer, optionally compressed. */
export {
  JSON_SERIALIZER,
  type JsonOptions,
  json,
} from './json.js';
