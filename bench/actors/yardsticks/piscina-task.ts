/** The trivial piscina task of the round-trip yardstick: answers with its input. */
export default function echo(task: unknown): unknown {
  return task;
}
