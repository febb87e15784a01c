// Lays out the npm packages of a release, the napi-rs way (run by scripts/dist.sh):
//
//   node tools/dist-packages.mjs OUTDIR PLATFORM=ADDON.node [PLATFORM=ADDON.node ...]
//
// OUTDIR/cortiauth/                 the main package: JavaScript, typings, no binary,
//                                   optionalDependencies on every PLATFORM package
// OUTDIR/cortiauth-PLATFORM/        one per PLATFORM (linux-x64-gnu, linux-x64-musl,
//                                   linux-arm64-gnu, darwin-arm64, darwin-x64,
//                                   win32-x64-msvc): one cortiauth.PLATFORM.node,
//                                   with os / cpu / libc so npm installs only the
//                                   one that fits
//
// `npm pack` in each directory makes the tarballs. index.js loads the addon from a
// file next to it (a build from source) or from cortiauth-PLATFORM.
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = join(dirname(fileURLToPath(import.meta.url)), '..')
const [outdir, ...addons] = process.argv.slice(2)
if (!outdir || addons.length === 0) {
  console.error('usage: node tools/dist-packages.mjs OUTDIR PLATFORM=ADDON.node ...')
  process.exit(2)
}

// process.platform / process.arch / libc of each platform, as index.js names them.
const PLATFORMS = {
  'linux-x64-gnu': { os: 'linux', cpu: 'x64', libc: 'glibc' },
  'linux-x64-musl': { os: 'linux', cpu: 'x64', libc: 'musl' },
  'linux-arm64-gnu': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'linux-arm64-musl': { os: 'linux', cpu: 'arm64', libc: 'musl' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64' },
  'darwin-x64': { os: 'darwin', cpu: 'x64' },
  'win32-x64-msvc': { os: 'win32', cpu: 'x64' },
  'win32-arm64-msvc': { os: 'win32', cpu: 'arm64' },
}

const source = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'))
const { version } = source
const common = {
  version,
  license: source.license,
  ...(source.repository ? { repository: source.repository } : {}),
  engines: source.engines,
}

const platforms = addons.map((arg) => {
  const eq = arg.indexOf('=')
  const platform = arg.slice(0, eq)
  const addon = arg.slice(eq + 1)
  if (eq < 1 || !addon || !PLATFORMS[platform]) {
    console.error(`dist-packages: expected PLATFORM=ADDON.node with PLATFORM one of ${Object.keys(PLATFORMS).join(', ')}: ${arg}`)
    process.exit(2)
  }
  return { platform, addon }
})

rmSync(outdir, { recursive: true, force: true })

// Every package carries the licence texts (listed in `files`: npm packs only
// LICENSE / LICENCE(.ext) on its own, not LICENSE-MIT).
const LICENSES = ['LICENSE-MIT', 'LICENSE-APACHE']
const copyLicenses = (dir) => {
  for (const f of LICENSES) copyFileSync(join(here, f), join(dir, f))
}

// The per-platform packages.
for (const { platform, addon } of platforms) {
  const name = `cortiauth-${platform}`
  const dir = join(outdir, name)
  const file = `cortiauth.${platform}.node`
  mkdirSync(dir, { recursive: true })
  copyFileSync(addon, join(dir, file))
  copyLicenses(dir)
  const { os, cpu, libc } = PLATFORMS[platform]
  const pkg = {
    name,
    ...common,
    description: `The native addon of cortiauth for ${platform} (installed by cortiauth, not used directly)`,
    main: file,
    files: [file, 'README.md', ...LICENSES],
    os: [os],
    cpu: [cpu],
    ...(libc ? { libc: [libc] } : {}),
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  writeFileSync(
    join(dir, 'README.md'),
    `# ${name}\n\nThe prebuilt native addon (${basename(file)}) of [cortiauth](https://www.npmjs.com/package/cortiauth) ` +
      `for ${platform}. Install \`cortiauth\`: npm picks this package as one of its optional dependencies.\n`,
  )
}

// The main package: the JavaScript and typings of bindings/node, no binary.
const main = join(outdir, 'cortiauth')
mkdirSync(main, { recursive: true })
// Files and directories (`lib/`) as listed in package.json; the addon pattern stays out.
const files = source.files.filter((f) => !f.endsWith('.node'))
for (const f of files) cpSync(join(here, f), join(main, f), { recursive: true })
copyLicenses(main)
const pkg = { ...source }
pkg.files = files
pkg.optionalDependencies = Object.fromEntries(platforms.map(({ platform }) => [`cortiauth-${platform}`, version]))
delete pkg.devDependencies
delete pkg.scripts
delete pkg.napi
writeFileSync(join(main, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)

console.log(`npm packages for ${version} in ${outdir}: cortiauth, ${platforms.map(({ platform }) => `cortiauth-${platform}`).join(', ')}`)
