// Words of the load test's marks, shared by the test and workers/load.ts.

/** The round the main thread has released. */
export const RELEASED = 0;
/** Rounds finished by workers, all workers and rounds together. */
export const FINISHED = 1;
