import { propertySuite } from './suite.ts'

propertySuite('ownership')
