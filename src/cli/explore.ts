// `luv explore`: breadth-first exploration of the reference model within a scope
// (src/explore/), TLC-style figures, a bundle per violated property, explore.md/explore.json.
// Every flag is checked before anything runs (exit 2); SIGINT/SIGTERM stop the search at the
// next state and the report of what was explored is still written.

import { parseArgs } from 'node:util'
import type { CliDeps } from './deps.ts'
import { EXIT, UsageError, parseArgsMessage } from './usage.ts'

export const EXPLORE_USAGE = `usage: luv explore [--scope FILE] [--depth N] [--time D] [--profile P] [--set AXIS=OPTION]...
                   [--properties a,b] [--conformance on|off] [--symmetry on|off] [--recheck-failed]
                   [--workers N] [--defect NAME] [--out DIR] [--print-scope]

Explore every state of the reference model reachable within a scope, breadth first: every
property checked on every transition, every transition replayed on the kernel implementation,
the shortest trace to each distinct state kept, a failure bundle per violated property.
  --scope FILE      a scope file (docs/explore.md); default: the documented default scope
                    (1 unit, 2 devices, 4 pages, <= 2 iommufds / IOAS / HWPTs, 1 memfd,
                    1 session, 1 KEXEC, depth 5 from 4 initial states)
  --depth N         depth bound (ops after the initial state); overrides the scope's
  --time D          stop after D (60s, 5m, 1h); the report says what was explored
  --profile P       design profile (default lpc2025); --set AXIS=OPT overrides an axis
  --properties L    properties to check (default: all)
  --conformance X   replay transitions on the kernel implementation (default on)
  --symmetry X      symmetry reduction: fds, serials, pages, DIDs renamed (default on)
  --recheck-failed  also evaluate the properties on ops that failed and changed nothing
                    (by default their verdict is the state's, already checked)
  --workers N       worker threads expanding states (default 1); same result for any N
  --defect NAME     seed a defect into the kernel implementation
  --out DIR         report folder (default reports/explore-<scope>-<design>)
  --print-scope     print the scope (resolved, as JSON a scope file can start from) and exit
Exit status: 0 no violation in scope, 1 a property was violated, 2 bad usage or bad input.`

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        scope: { type: 'string' },
        depth: { type: 'string' },
        time: { type: 'string' },
        profile: { type: 'string' },
        set: { type: 'string', multiple: true },
        properties: { type: 'string' },
        conformance: { type: 'string' },
        symmetry: { type: 'string' },
        'recheck-failed': { type: 'boolean' },
        workers: { type: 'string' },
        defect: { type: 'string' },
        out: { type: 'string' },
        'print-scope': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }).values
  } catch (e) {
    throw new UsageError('explore', parseArgsMessage(e))
  }
}

const onOff = (v: string | undefined, flag: string): boolean => {
  if (v === undefined || v === 'on') return true
  if (v === 'off') return false
  throw new UsageError('explore', `${flag} ${v}: expected on or off`)
}

export async function exploreCommand(argv: string[], deps: CliDeps): Promise<number> {
  const v = parse(argv)
  if (v.help) {
    deps.stdout.write(EXPLORE_USAGE + '\n')
    return EXIT.ok
  }
  const [{ explore }, scopeMod, opts, { InputError }, report, { progressBar }] = await Promise.all([
    import('../explore/explore.ts'),
    import('../explore/scope.ts'),
    import('../campaign/options.ts'),
    import('../campaign/errors.ts'),
    import('../explore/report.ts'),
    import('../explore/progress.ts'),
  ])
  const usage = (f: () => unknown) => {
    try {
      return f()
    } catch (e) {
      if (e instanceof InputError || e instanceof scopeMod.ScopeError) throw new UsageError('explore', e.message)
      throw e
    }
  }
  const scope = usage(() => (v.scope !== undefined ? scopeMod.loadScope(v.scope) : scopeMod.defaultScope())) as ReturnType<typeof scopeMod.defaultScope>
  if (v['print-scope']) {
    deps.stdout.write(JSON.stringify(scopeMod.scopeToJson(scope), null, 2) + '\n')
    return EXIT.ok
  }
  const depth = v.depth !== undefined ? (usage(() => opts.parsePositiveInt(v.depth!, '--depth')) as number) : undefined
  if (depth !== undefined && depth > 64) throw new UsageError('explore', `--depth ${depth}: expected at most 64`)
  const timeLimitMs = v.time !== undefined ? (usage(() => opts.parseDuration(v.time!)) as number) : undefined
  const d = usage(() => opts.resolveDesignFlags(v.profile, v.set ?? [])) as ReturnType<typeof opts.resolveDesignFlags>
  const workers = v.workers !== undefined ? (usage(() => opts.parsePositiveInt(v.workers!, '--workers')) as number) : 1
  const conformance = onOff(v.conformance, '--conformance')
  const symmetry = onOff(v.symmetry, '--symmetry')
  const properties = usage(() => opts.resolveProperties(v.properties, conformance ? 'both' : 'model')) as ReturnType<typeof opts.resolveProperties>
  if (v.defect !== undefined) {
    if (!conformance) throw new UsageError('explore', '--defect needs the kernel implementation (--conformance on)')
    usage(() => opts.checkExecutor(scope.platform, d.design, 'both', v.defect))
  }
  const name = [`explore`, scope.name.replace(/\.json$/, '').replace(/^.*\//, ''), d.profile, ...Object.entries(d.overrides).map(([a, o]) => `${a}-${o}`), ...(v.defect ? [`defect-${v.defect}`] : [])]
    .join('-')
    .replace(/[^A-Za-z0-9._-]/g, '_')
  const out = v.out ?? `reports/${name}`
  usage(() => opts.checkOutDir(out))
  // the scope's initial states must run on this platform: validated before the search
  usage(() => scopeMod.checkInit(scope))

  const command = ['luv explore', ...argv].join(' ')
  deps.stdout.write(
    `luv explore: scope '${scope.name}' (${scope.init.length} initial state${scope.init.length === 1 ? '' : 's'}), design ${[d.profile, ...Object.entries(d.overrides).map(([a, o]) => `${a}=${o}`)].join(' ')}, ` +
      `depth ${depth ?? scope.depth}${timeLimitMs !== undefined ? `, time ${v.time}` : ''}, conformance ${conformance ? 'on' : 'off'}, symmetry ${symmetry ? 'on' : 'off'}${workers > 1 ? `, ${workers} workers` : ''} -> ${out}/\n`,
  )
  const stop = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    deps.stderr.write(`\nluv explore: ${sig}: stopping; the report covers what was explored\n`)
    stop.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const bar = progressBar(deps.stderr, timeLimitMs)
  let r
  try {
    r = await explore({
      scope,
      design: d.design,
      profile: d.profile,
      ...(depth !== undefined && { depth }),
      ...(timeLimitMs !== undefined && { timeLimitMs }),
      conformance,
      symmetry,
      ...(v['recheck-failed'] && { recheckFailed: true }),
      workers,
      properties: new Set(properties),
      ...(v.defect !== undefined && { defect: v.defect }),
      signal: stop.signal,
      onProgress: (p) => bar.update(p),
    })
  } finally {
    bar.stop()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  const bundles = await report.writeExploreReport(r, scope, out, { profile: d.profile, command, ...(v.defect !== undefined && { defect: v.defect }) })
  const L: string[] = []
  for (const x of r.violations) {
    L.push('', `Error: ${x.property} is violated: ${x.message}`, `The shortest behaviour (${x.ops.length} ops, ${x.depth} after initial state '${x.init}'):`)
    x.ops.forEach((op, i) => L.push(`  ${String(i).padStart(3)}  ${report.opLine(op)}`))
    const b = bundles.get(x.property)
    if (b) L.push(`  bundle ${out}/${b}/   replay: node bin/luv.mjs replay ${out}/${b}`)
  }
  L.push('')
  if (!r.stats.complete) L.push(`Exploration stopped (${r.stats.stoppedBy}) before the bound: the figures cover what was explored.`)
  L.push(r.violations.length ? `FAIL: ${r.violations.map((x) => x.property).join(', ')} violated.` : `PASS: no property violated${r.stats.complete ? ' in scope' : ' in the states explored'}.`)
  L.push(...report.figureLines(r))
  L.push(`report: ${out}/explore.md`)
  deps.stdout.write(L.join('\n') + '\n')
  return r.violations.length ? EXIT.failed : EXIT.ok
}
