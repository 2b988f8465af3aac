import fc from 'fast-check';

/**
 * Property tests run from a fixed seed so the suite is deterministic; fast-check prints
 * the seed and the counterexample path on failure. FC_SEED and FC_RUNS override.
 */
const seed = process.env.FC_SEED === undefined ? 20261123 : Number(process.env.FC_SEED);
const numRuns = process.env.FC_RUNS === undefined ? undefined : Number(process.env.FC_RUNS);

fc.configureGlobal({ seed, ...(numRuns === undefined ? {} : { numRuns }), verbose: 1 });
