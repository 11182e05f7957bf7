import { propertySuite } from './suite.ts'

propertySuite('recoverability')
