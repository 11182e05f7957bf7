// A worker thread running the framework floor (bench/floor.ts) for bench/campaign.ts's machine
// ceiling: how well the floor itself scales over worker threads on this machine.
import { register } from 'tsx/esm/api'
import { parentPort, workerData } from 'node:worker_threads'

register()
const { floorRate } = await import('./floor.ts')
parentPort.postMessage(floorRate(workerData))
