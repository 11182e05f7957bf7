// The campaign report's files, rendered from a CampaignSummary: summary.md for people,
// summary.json for tools, junit.xml for CI dashboards. Pure functions; timing-dependent values
// are kept to the Timing section (md), `seconds`/`timing` (json) and time/timestamp (xml).

// issue 13
import { renderCoverageMd } from '../coverage/coverage.ts'
import { AXIS_NAMES } from '../../models/design.ts'
import { formatJson, type Json } from '../report/json.ts'
import { countLine, counts, type CampaignSummary } from './summary.ts'

const n = (x: number) => x.toLocaleString('en-US')
const code = (s: string) => '`' + s + '`'
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
const seedText = (s: number) => `${s} (0x${(s >>> 0).toString(16)})`

const pct1 = (a: number, b: number): number => (b === 0 ? 0 : Math.round((1000 * a) / b) / 10)

export function verdictWord(s: CampaignSummary): string {
  // issue 10: a campaign that checked nothing is not a pass
  return s.verdict === 'pass' ? (s.runs === 0 ? 'NOTHING CHECKED' : 'PASS') : 'FAIL'
}

function platformText(s: CampaignSummary): string {
  if (s.platform.mixed) return `${s.platform.name}: each run draws one of ${s.platform.mixed.length} platforms (${s.platform.mixed.map(shape).join('; ')})`
  return `${s.platform.name}: ${shape(s.platform.spec)}`
}

function shape(p: CampaignSummary['platform']['spec']): string {
  return `${p.units.length} IOMMU unit${p.units.length === 1 ? '' : 's'}, ${p.devices.length} device${p.devices.length === 1 ? '' : 's'}, ${n(p.memoryPages)} pages`
}

function budgetText(s: CampaignSummary): string {
  const parts = [...(s.budget.runs !== undefined ? [`--runs ${s.budget.runs}`] : []), ...(s.budget.time !== undefined ? [`--time ${s.budget.time}`] : [])]
  return parts.join(' ') || 'none'
}

export function renderSummaryMd(s: CampaignSummary): string {
  const L: string[] = []
  L.push(`# luv campaign ${code(s.name)}: ${verdictWord(s)}${s.interrupted ? ' (interrupted)' : ''}`, '')
  L.push(
    `**${countLine(s)}** · design ${code(s.design.label)} · platform ${code(s.platform.name)} · impl ${code(s.impl)}` +
      (s.defect ? ` · defect ${code(s.defect)}` : '') +
      ` · seed ${seedText(s.seed)}`,
    '',
  )

  L.push('## Verdict per property', '', '| property | verdict | blocks | runs | bundle |', '|---|---|--:|--:|---|')
  for (const [name, p] of Object.entries(s.properties)) {
    const v = p.verdict === 'fail' ? '**FAIL**' : p.verdict === 'pass' ? 'pass' : 'not checked'
    const known = p.knownFinding ? (p.verdict === 'fail' ? ' (known finding)' : ' (known finding, not found this time)') : ''
    const links = p.bundles.map((b) => `[${b}](${b}/report.md)`).join(', ') || '—'
    L.push(`| ${name} | ${v}${known} | ${n(p.blocks)} | ${n(p.runs)} | ${links} |`)
  }
  L.push('')

  if (s.failures.length > 0) {
    L.push('## Failures', '', 'Bucketed by title (property, diverging op, the op that shows it, result classes), as syzbot groups crashes; one bundle per bucket, listing every block that found it. Step N is steps[N] of the bundle\'s scenario.json.', '')
    L.push('| bucket | bundle | steps | found in block | fast-check seed | shrink |', '|---|---|--:|---|---|---|')
    for (const b of s.buckets)
      for (const h of b.bundles) {
        const f = s.failures.find((x) => x.bundle === h)!
        L.push(`| ${cell(code(b.title))} | [${h}](${h}/report.md) | ${f.length} | ${f.blocks.join(', ')}${f.profile ? ` (${code(f.profile)})` : ''} | ${f.seed} | ${shrinkCell(f)} |`)
      }
    L.push('')
    for (const f of s.failures) {
      L.push(`### ${cell(f.title)}`, '', `${f.sentence}.`, '', `Step ${f.divergenceIndex}: ${f.message}`, '')
      L.push('```sh', '# data replay (stable across luv versions)', `npx ${f.replay.bundle}`, '# fast-check replay (same luv and fast-check versions only)', `npx ${f.replay.fastCheck}`, '```', '')
    }
  }

  if (s.errors.length > 0) {
    L.push('## Harness errors', '', 'Not property violations: luv itself failed. Please report them with the block seed.', '')
    for (const e of s.errors) L.push(`* block ${e.block} (seed ${e.seed}): ${code(e.message.split('\n')[0])}`)
    L.push('')
  }

  const first = s.blocks.list[0]
  const last = s.blocks.list[s.blocks.list.length - 1]
  const overrides = Object.entries(s.design.overrides)
  L.push('## Campaign', '', '| | |', '|---|---|')
  const rows: [string, string][] = [
    ['design', `${code(s.design.profile)}${overrides.length ? ` with ${overrides.map(([a, o]) => code(`${a}=${o}`)).join(', ')}` : ' (no overrides)'}`],
    ['axes', AXIS_NAMES.map((a) => code(`${a}=${s.design.axes[a]}`)).join(' ')],
    ['platform', platformText(s)],
    ['impl', code(s.impl)],
    ['defect', s.defect ? code(s.defect) : 'none'],
    ['budget', budgetText(s)],
    ...(s.shrinkBudget !== undefined ? [['shrink budget', `${s.shrinkBudget} per failure`] as [string, string]] : []),
    ['shard', s.shard ? `${s.shard.index}/${s.shard.count}` : s.shards ? `merged from ${s.shards.map((x) => `${x.index}/${x.count}`).join(', ')}` : 'none'],
    ['runs', n(s.runs)],
    ['steps', n(s.steps)],
    ['blocks', `${n(s.blocks.count)} (${s.blocks.indices || 'none'}), ${s.blocks.runsPerBlock} runs each`],
    [
      'seeds',
      `campaign ${seedText(s.seed)}; ${s.blocks.seedDerivation.replace('<seed>', String(s.seed))}` +
        (first ? `: block ${first.index} → ${first.seed}${last !== first ? `, …, block ${last.index} → ${last.seed}` : ''}` : ''),
    ],
    ['versions', `luv ${s.versions.luv}, Node ${s.versions.node}, fast-check ${s.versions.fastCheck}${s.versions.gitRev ? `, git ${code(s.versions.gitRev)}` : ''}`],
  ]
  for (const [k, v] of rows) L.push(`| ${k} | ${cell(v)} |`)
  L.push('')

  const r = s.reach
  L.push('## Reach', '', 'What the generated runs reached (shrinking runs not counted).', '', '| | runs | share |', '|---|--:|--:|')
  L.push(`| KEXEC with a preserved device, then DMA through it | ${n(r.kexecWithPreservedDma)} | ${r.kexecWithPreservedDmaPercent}% |`)
  L.push(`| full recovery (FINISH after KEXEC) | ${n(r.fullRecovery)} | ${r.fullRecoveryPercent}% |`)
  L.push(`| distinct op outcomes (op, errno) seen | ${r.outcomes.length} | |`)
  // issue 13: fault injection (models/fault.ts)
  if (s.faults)
    L.push(
      `| steps with fail-nth armed (--fail-rate ${s.faults.rate}${s.impl === 'model' ? '; --impl model runs them as ordinary steps' : ''}) | ${n(s.faults.armed)} | |`,
      `| ... that reached their n-th allocation (-ENOMEM, nothing changed) | ${n(s.faults.reached)} | ${pct1(s.faults.reached, s.faults.armed)}% of armed |`,
    )
  L.push('')

  // --profiles (issue 13): what each drawn profile ran and found
  if (s.profiles) {
    L.push('## Profiles', '', 'Each block drew its profile from its seed (--profiles); a property failed in one profile is still checked in the others.', '')
    L.push('| profile | blocks | runs | steps | failed | bundles |', '|---|--:|--:|--:|---|---|')
    for (const [p, x] of Object.entries(s.profiles))
      L.push(`| ${code(p)} | ${n(x.blocks)} | ${n(x.runs)} | ${n(x.steps)} | ${x.failed.join(', ') || '—'} | ${x.bundles.map((b) => `[${b}](${b}/report.md)`).join(', ') || '—'} |`)
    L.push('')
  }

  // issue 13: coverage in model terms
  L.push(...renderCoverageMd(s.coverage))

  L.push('## Notes', '', ...s.notes.map((x) => `* ${x}`), '')

  L.push('## Timing', '', 'The only values that differ between two runs of the same campaign.', '', '| | |', '|---|---|')
  L.push(`| started | ${s.timing.started} |`, `| finished | ${s.timing.finished} |`, `| seconds | ${s.seconds} |`)
  L.push(`| throughput | ${n(s.timing.stepsPerSecond)} steps/s |`, `| workers | ${s.timing.workers} |`, `| speculative reruns | ${s.timing.reruns} |`)
  for (const x of s.timing.shrink ?? []) L.push(`| shrink ${x.bundle} | ${x.seconds} s${x.budgetSpent ? ' (budget spent)' : ''} |`)
  L.push('')
  return L.join('\n')
}

/** summary.json: pretty, block records one per line. */
export function renderSummaryJson(s: CampaignSummary): string {
  return formatJson(JSON.parse(JSON.stringify(s)) as Json, {
    width: 110,
    inline: (p) => (p.length === 3 && p[0] === 'blocks' && p[1] === 'list') || (p.length === 2 && p[0] === 'reach' && p[1] === 'outcomes'),
  })
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/**
 * junit.xml in the JUnit format the Jenkins xUnit plugin validates (test/report/schema/):
 * one testcase per property, with at most one <failure> naming its bundle(s), paths relative
 * to the report folder (where junit.xml is).
 */
export function renderJunit(s: CampaignSummary): string {
  const { failed, skipped } = counts(s)
  const tests = Object.keys(s.properties).length + (s.errors.length ? 1 : 0)
  const errors = s.errors.length ? 1 : 0
  const suite = `luv campaign ${s.name}`
  const totals = `tests="${tests}" failures="${failed}" errors="${errors}" time="${s.seconds}"`
  const L = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(suite)}" ${totals}>`,
    `  <testsuite name="${xml(suite)}" ${totals} skipped="${skipped}" timestamp="${xml(s.timing.started)}">`,
  ]
  L.push('    <properties>')
  const props: [string, string][] = [
    ['seed', String(s.seed)],
    ['design', s.design.label],
    ['platform', s.platform.name],
    ['impl', s.impl],
    ...(s.defect ? ([['defect', s.defect]] as [string, string][]) : []),
    ['runs', String(s.runs)],
    ['steps', String(s.steps)],
    ['blocks', s.blocks.indices],
    ...(s.shard ? ([['shard', `${s.shard.index}/${s.shard.count}`]] as [string, string][]) : []),
    ['interrupted', String(s.interrupted)],
  ]
  for (const [k, v] of props) L.push(`      <property name="${xml(k)}" value="${xml(v)}"/>`)
  L.push('    </properties>')
  const cls = `luv.campaign.${s.design.profile}`
  for (const [name, p] of Object.entries(s.properties)) {
    if (p.verdict === 'pass') {
      L.push(`    <testcase name="${xml(name)}" classname="${xml(cls)}"/>`)
      continue
    }
    if (p.verdict === 'not-checked') {
      L.push(`    <testcase name="${xml(name)}" classname="${xml(cls)}">`, '      <skipped message="no run checked it"/>', '    </testcase>')
      continue
    }
    L.push(`    <testcase name="${xml(name)}" classname="${xml(cls)}">`)
    const fs = p.bundles.map((b) => s.failures.find((x) => x.bundle === b)!)
    if (fs.length === 0) L.push(`      <failure message="${xml(`${name} failed`)}" type="${xml(name)}"/>`)
    else {
      // one <failure> per testcase: the first bundle in the message, every bundle in the body
      const body = fs
        .map((f) => [f.sentence, `step ${f.divergenceIndex}: ${f.message}`, `bundle: ${f.bundle}/ (beside junit.xml)`, `replay (in the report folder): node bin/luv.mjs replay ${f.bundle}`].join('\n'))
        .join('\n\n')
      const more = fs.length > 1 ? ` (+${fs.length - 1} more)` : ''
      L.push(`      <failure message="${xml(`${fs[0].title} (bundle ${fs[0].bundle}/)${more}`)}" type="${xml(name)}">${xml(body)}</failure>`)
    }
    L.push('    </testcase>')
  }
  if (s.errors.length) {
    L.push(`    <testcase name="harness" classname="${xml(cls)}">`)
    const body = s.errors.map((e) => `block ${e.block} (seed ${e.seed}): ${e.message}`).join('\n\n')
    L.push(`      <error message="${xml(`${s.errors.length} harness error(s); first: block ${s.errors[0].block}: ${s.errors[0].message.split('\n')[0]}`)}">${xml(body)}</error>`)
    L.push('    </testcase>')
  }
  L.push('  </testsuite>', '</testsuites>', '')
  return L.join('\n')
}

/** `37 → 12 steps, 210 tried` (+ `budget spent`): how a failure was shrunk (--shrink-budget). */
function shrinkCell(f: CampaignSummary['failures'][number]): string {
  const x = f.shrink
  if (!x) return '—'
  return `${x.originalLength} → ${x.finalLength} steps, ${x.tried} tried${x.budgetSpent ? ', **budget spent**' : ''}`
}
