export { BUCKET, BUCKET_K, BUCKET_PROCESSES, type BucketProcess } from './structure';
export {
  bucketAdjoint,
  runBucket,
  waterBalance,
  type BucketOptions,
  type BucketRun,
  type BucketSeeds,
  type OutletMode,
} from './kernel';
