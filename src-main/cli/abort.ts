/** Ctrl+C cancels the running job cleanly (the job sees an aborted signal). */
export class AbortError {
  static onSigint(): AbortController {
    const ac = new AbortController();
    const handler = () => {
      if (ac.signal.aborted) process.exit(130);
      process.stderr.write('\ncancelling (press Ctrl+C again to quit at once)...\n');
      ac.abort();
    };
    process.on('SIGINT', handler);
    return ac;
  }
}
