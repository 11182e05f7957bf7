import { propertySuite } from './suite.ts'

propertySuite('atomicity')
