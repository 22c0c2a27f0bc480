/**
 * Fits the real services (src-main/services, src-main/db, src-main/runtime) to the
 * ServicesPort. Groups whose service has not landed yet are left out and answer UNAVAILABLE.
 */
import type { ServicesPort } from './services-port';

export interface OpenServicesOptions {
  dataDir: string;
}

export async function openServices(opts: OpenServicesOptions): Promise<ServicesPort> {
  return { dataDir: opts.dataDir, fileRoots: () => [opts.dataDir] };
}
