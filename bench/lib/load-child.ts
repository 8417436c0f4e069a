/**
 * The load generator's process: runs the jobs (load-jobs.ts) that the benchmark sends over IPC
 * and answers each with its result or error. Started by loadGenerator() in children.ts.
 */
import { runJob, type Job } from './load-jobs.js';

process.on('message', (msg: { id: number; job: Job }) => {
  runJob(msg.job).then(
    (result) => process.send!({ id: msg.id, result }),
    (err: Error) => process.send!({ id: msg.id, error: err.stack ?? err.message }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
