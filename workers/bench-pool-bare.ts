// piscina task module for benchmark scenario 4: the same empty task, bare, for the baseline pool.
export default function empty(): null {
  return null;
}
