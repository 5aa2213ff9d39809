// Preloaded into a server under test (NODE_OPTIONS="--require <this file>", with MODULE_PROBE_DIR
// set): on SIGUSR2 the process writes MODULE_PROBE_DIR/<pid>.json with the npm packages whose
// CommonJS modules it has loaded so far, so a test can tell what a process loads at idle.
'use strict';
const Module = require('node:module');
const { writeFileSync, renameSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.MODULE_PROBE_DIR;
if (dir) {
  process.on('SIGUSR2', () => {
    const packages = new Set();
    for (const file of Object.keys(Module._cache)) {
      const m = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
      if (m) packages.add(m[1]);
    }
    const file = join(dir, `${process.pid}.json`);
    // Written whole, then renamed: a reader never sees half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify({ pid: process.pid, packages: [...packages].sort() }));
    renameSync(`${file}.tmp`, file);
  });
}
