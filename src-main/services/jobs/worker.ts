// The one worker-thread entry: model workers (a block of cells of a pool) and job workers.
import { workerData } from 'node:worker_threads';
import { modelWorkerLoop } from './modelWorker';
import type { ModelWorkerData } from './modelPool';
import { jobWorkerMain, type JobWorkerData } from './jobWorker';

const data = workerData as ModelWorkerData | JobWorkerData;
if (data.role === 'model') modelWorkerLoop(data);
else await jobWorkerMain(data);
