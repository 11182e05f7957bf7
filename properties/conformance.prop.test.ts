import { propertySuite } from './suite.ts'

propertySuite('conformance')
