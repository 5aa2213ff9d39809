/** Turns a listen() failure into one sentence a person can act on, or null if it is not a known case. */
export function explainListenError(err: unknown, port: number): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') return `port ${port} is in use: is another server running?`;
  if (code === 'EACCES') return `no permission to listen on port ${port}: choose a port above 1023`;
  if (code === 'EADDRNOTAVAIL') return `the address to listen on is not available on this machine: check HOST`;
  return null;
}
