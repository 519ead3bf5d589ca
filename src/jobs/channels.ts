/** PostgreSQL NOTIFY channels between the model servers and the API (payload: the row id). */
export const TRAINING_CHANNEL = 'kfashion_training_run';
