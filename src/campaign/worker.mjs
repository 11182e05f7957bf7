// The pool worker's entry: worker threads start without the parent's loaders, so register tsx
// here (as bin/luv.mjs does) before loading the TypeScript block runner.
import { register } from 'tsx/esm/api'

register()
const { runBlock } = await import('./block.ts')

export default runBlock
