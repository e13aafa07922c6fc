import { runBlockEngineSuite } from '../testing/block-engine-suite.js'
import { createMemoryBlockEngine } from './memory-block-engine.js'

runBlockEngineSuite({ name: 'memory reference engine', create: () => createMemoryBlockEngine() })
