// The client moved to @switchboard/client, which a worker installs without the server; this
// subpath stays so that code importing `@switchboard/server/client` keeps working.
export { type ClientOptions, createClient, type SwitchboardClient } from '@switchboard/client';
