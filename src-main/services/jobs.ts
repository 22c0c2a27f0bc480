/** The `jobs` group: the state of the long calls (import, training, batch inspection) and their cancel. */
import type { GroupHandlers, ServiceContext } from './context';

export function jobsHandlers({ jobs }: Pick<ServiceContext, 'jobs'>): GroupHandlers<'jobs'> {
  return {
    'jobs.get': async (a) => jobs.get(a.jobId),
    'jobs.list': async () => jobs.list(),
    'jobs.cancel': async (a) => ({ cancelled: jobs.cancel(a.jobId) }),
  };
}
