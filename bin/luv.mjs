#!/usr/bin/env node
// The `luv` command: registers tsx so Node 20 runs the TypeScript sources directly, then hands
// the arguments to src/cli/main.ts. main() is imported after register() (a static import would
// be hoisted above it and load before tsx is in place).
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
