// The one worker-thread entry: model workers (a block of cells of a pool), candidate workers
// (inverse mapping's candidate pool) and job workers.
import { workerData } from 'node:worker_threads';
import { modelWorkerLoop } from './modelWorker';
import type { ModelWorkerData } from './modelPool';
import { jobWorkerMain, type JobWorkerData } from './jobWorker';
import { candidateWorkerLoop } from '../calibration/inverse/poolWorker';
import type { CandidateWorkerData } from '../calibration/inverse/pool';

const data = workerData as ModelWorkerData | JobWorkerData | CandidateWorkerData;
if (data.role === 'model') modelWorkerLoop(data);
else if (data.role === 'candidates') candidateWorkerLoop(data);
else await jobWorkerMain(data);
