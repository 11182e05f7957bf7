import { propertySuite } from './suite.ts'

propertySuite('dma-continuity')
