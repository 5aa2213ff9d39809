/** The storage folder's public surface: the interface, the factory and the group-commit writer. */
export type {
  AppendResult,
  ConversationId,
  CreateUserResult,
  NewSession,
  NewUser,
  StoredSession,
  StoredUser,
  UserProfile,
  NewMessage,
  Storage,
  StoredMessage,
  StoredRoom,
  StoredRoomChange,
  StoredReceiptCounts,
  TextCursor,
} from './storage.js';
export { openStorage, type OpenStorageOptions } from './open-storage.js';
export { GroupCommitWriter, WriterClosedError, type GroupCommitOptions } from './group-commit.js';
export { SqliteStorage, type SqliteStorageOptions, type SqliteSynchronous } from './sqlite-storage.js';
export { PostgresStorage, type PostgresStorageOptions } from './postgres-storage.js';
export { StorageClosedError } from './sql-storage.js';
export { UnstorableMessageError, messageProblem } from './storable.js';
