/**
 * The names of the two job queues (src/jobs/queue.ts), in a module of their own so that what only
 * names a queue (`kfashion model-server --queues`, its help) does not load pg-boss.
 */
export const TRAINING_QUEUE = 'training';
export const PREDICTION_QUEUE = 'prediction';
export type QueueName = typeof TRAINING_QUEUE | typeof PREDICTION_QUEUE;
