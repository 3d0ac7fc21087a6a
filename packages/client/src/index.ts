export { type ClientOptions, createClient, type SwitchboardClient } from './client.js';
