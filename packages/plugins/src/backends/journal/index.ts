export { crc32 } from './crc32.js';
export { type JournalLock, LOCK_FILE, lockDir } from './dir-lock.js';
export { FRAME_HEADER_BYTES, type FrameBody, FrameCodec, type FrameDefect } from './frame.js';
export { type FsAdapter, type JournalFile, nodeFs } from './fs-adapter.js';
export {
  createJournalBackend,
  JOURNAL_BACKEND,
  JournalBackend,
} from './journal-backend.js';
export type {
  Durability,
  JournalBackendOptions,
  JournalWarning,
} from './journal-options.js';
export { journalPlugin } from './journal-plugin.js';
export type { LogWriterStats } from './log-writer.js';
