// Preloaded into a cluster under test (NODE_OPTIONS="--require <this file>"):
// on SIGTERM each worker starts a short-lived child that inherits the worker's
// IPC pipe, so the pipe outlives the worker by about a second. The primary then
// learns of the worker's exit before its IPC disconnect, an order a loaded
// machine produces now and then on its own (the kernel reports the death and
// the pipe's end separately); here it happens every time, so a test can rely on it.
'use strict';
const cluster = require('node:cluster');
const { spawn } = require('node:child_process');

if (cluster.isWorker) {
  process.once('SIGTERM', () => {
    const fd = process.channel?.fd;
    if (typeof fd === 'number' && fd >= 0) spawn('sleep', ['1'], { stdio: ['ignore', 'ignore', 'ignore', fd] }).unref();
  });
}
