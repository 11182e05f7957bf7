// The exploration's worker entry: worker threads start without the parent's loaders, so
// register tsx here (as src/campaign/worker.mjs does) before loading the TypeScript.
import { register } from 'tsx/esm/api'

register()
const { runExpandTask } = await import('./expand.ts')

export default runExpandTask
