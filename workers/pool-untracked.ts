// piscina task module that forgets tracked(): a plain task function, which receives whatever the
// pool sends (from a TrackedPool, its envelope) and returns it. TrackedPool must refuse its answers.
export default function untracked(payload: unknown): unknown {
  return payload;
}
