/** @module jobs — the fleet: scan/build/rescan jobs on a PostgreSQL queue (pg-boss), their handlers, and the continuous rebuild/rescan watcher. */
export { JOB_KINDS, parseJobSpec, type BuildJob, type JobKind, type JobResult, type JobSpec, type RescanJob, type ScanJob, type WorkerEvent } from './job-types.js';
export { buildAndStore, rescanStored, rescanWithHeader, runJob, withoutMatchIssues, withVulnDb, type BuiltAndStored, type JobContext } from './job-handlers.js';
export { DEFAULT_EXPIRE_SECONDS, JobQueue, QUEUE_NAMES, type JobQueueOptions, type JobState, type JobStatus, type WorkOptions } from './job-queue.js';
export { describeChanges, diffPackages, newestPerSubject, Watcher, type PackageChange, type WatchEvent, type WatcherOptions, type WatchRound } from './watch.js';
