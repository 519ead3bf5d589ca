/** Where a model server listens unless told otherwise; light, so that the CLI's option help can name it. */
export const DEFAULT_MODEL_SERVER_HOST = '127.0.0.1';
export const DEFAULT_MODEL_SERVER_PORT = 4100;
