export * from './config-error.js';
export * from './env-files.js';
export * from './listen-error.js';
