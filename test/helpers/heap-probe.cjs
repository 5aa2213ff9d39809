// Preloaded into a server under test (NODE_OPTIONS="--expose-gc --require <this file>", with
// HEAP_PROBE_DIR set): on SIGUSR2 the process runs a full GC and writes
// HEAP_PROBE_DIR/<pid>.json with its live JS heap, so a test can tell memory
// that is still referenced (a leak) from garbage and from heap space V8 keeps.
'use strict';
const { writeFileSync, renameSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.HEAP_PROBE_DIR;
if (dir && typeof global.gc === 'function') {
  process.on('SIGUSR2', () => {
    global.gc();
    global.gc();
    const { heapUsed, external, rss } = process.memoryUsage();
    const file = join(dir, `${process.pid}.json`);
    // Written whole, then renamed: a reader never sees half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify({ pid: process.pid, heapUsed, external, rss }));
    renameSync(`${file}.tmp`, file);
  });
}
