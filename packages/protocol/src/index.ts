export * from './client-id.js';
export * from './close-codes.js';
export * from './errors.js';
export * from './frames.js';
export * from './room-name.js';
export * from './conversation.js';
export * from './display-name.js';
export * from './files.js';
