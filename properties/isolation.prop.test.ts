import { propertySuite } from './suite.ts'

propertySuite('isolation')
