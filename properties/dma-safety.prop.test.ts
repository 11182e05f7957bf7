import { propertySuite } from './suite.ts'

propertySuite('dma-safety')
