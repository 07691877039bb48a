// Sweep children on a BullMQ queue (issue 18): the coordinator's executor and `fieldcal worker`.
export { QueueSweepExecutor, type QueueExecutorOptions } from './executor';
export { startQueueWorker, type QueueWorkerHandle, type QueueWorkerOptions } from './worker';
export { isLoopbackHost, parseQueueUrl, type QueueConnection } from './connection';
export { QUEUE_NAME, checkpointFile, dataChecksumsOf, jobIdOf, keyOfJobId } from './protocol';
