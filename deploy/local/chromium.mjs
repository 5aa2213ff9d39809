// Debian's Chromium as every browser run here starts it (the tests and the
// production smoke test): never a downloaded browser, and none of the
// background traffic or features a headless test does not want.
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
