// Types of the ESM entry point: the same names as the CommonJS one.
import cortiauth from './index.js'

export * from './index.js'
export default cortiauth
