/** Child process for the crash test: plays a training worker that records progress until killed. */
import { appendTrainingProgress, markTrainingRunning } from '../../../src-main/db/training-runs';
import { openStore } from '../../../src-main/db/store';

const [dataDir, runId] = process.argv.slice(2);
const store = openStore({ dataDir });
markTrainingRunning(store, { runId: Number(runId) });
for (let step = 1; step <= 1_000_000; step++) {
  appendTrainingProgress(store, { runId: Number(runId), step, progress: step / 1_000_000, losses: { loss: 1 / step, 'loss.level0': 2 / step, 'loss.level1': 3 / step }, message: `step ${step}` });
  process.stdout.write(`step ${step}\n`);
}
