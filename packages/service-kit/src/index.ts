export * from './config-error.js';
export * from './env-files.js';
export * from './listen.js';
export * from './listen-error.js';
export * from './log-options.js';
export * from './young-generation.js';
