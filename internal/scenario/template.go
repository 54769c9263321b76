package scenario

import (
	"html/template"
	"strconv"

	"github.com/carnot-dc/carnot/internal/report"
)

// planTemplate is plan.html. Like the twin's report, the page has no
// script, stylesheet, font or image from anywhere else, and every
// element is closed so that it is also well-formed XML.
var planTemplate = template.Must(template.New("plan").Funcs(template.FuncMap{
	"exact": func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{{.Title}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; color: #222; margin: 24px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
p.meta { color: #555; max-width: 980px; }
table { border-collapse: collapse; margin: 8px 0; }
div.wide { overflow-x: auto; } /* a table wider than the window scrolls, not the page */
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
table.metrics th.m { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.num small { display: block; color: #777; }
tr.base td, tr.base th { background: #f4f7fb; }
td.err { color: #b00; }
` + report.ChartCSS + `</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">Each scenario is one run of the digital twin (<code>carnot plan</code>), every decision made by the
production scheduling core. {{if .BaseFailed}}The baseline <b>{{.Baseline}}</b> failed: the values have no change to show.{{else}}Under each value, its change from the baseline <b>{{.Baseline}}</b>.{{end}} Metric
definitions: docs/plan.md; each scenario's own summary.json and jobs.csv are in its directory.</p>

<h2>Variants</h2>
<div class="wide"><table class="variants">
<tr><th>axis</th><th>variant</th><th>changes</th></tr>
{{range .Variants}}<tr><td>{{.Axis}}</td><th>{{.Name}}</th><td>{{.Changes}}</td></tr>
{{end}}</table></div>

<h2>Scenarios</h2>
<div class="wide"><table class="metrics">
<tr><th>scenario</th><th>policy</th><th>facility</th><th>grid</th>{{range .Header}}<th class="m" data-key="{{.Key}}">{{.Label}}</th>{{end}}</tr>
{{range .Rows}}<tr{{if eq .Name $.Baseline}} class="base"{{end}}><th>{{.Name}}</th><td>{{index .Axes 0}}</td><td>{{index .Axes 1}}</td><td>{{index .Axes 2}}</td>{{if .Error}}<td class="err" colspan="{{len $.Header}}">failed: {{.Error}}</td>{{else}}{{range .Cells}}<td class="num" data-key="{{.Key}}" data-value="{{exact .Exact}}">{{.Value}}{{with .Delta}}<small>{{.}}</small>{{end}}</td>{{end}}{{end}}</tr>
{{end}}</table></div>

{{if .Power}}<h2>Power by site, hall and rack</h2>
<p class="meta">Each site's and hall's, and each capped rack's, highest IT draw in the run against its limit: a
site's envelope, a hall's or rack's power cap (none: only its site's envelope holds it). The core budgets starts at TDP or at their caps; the twin's
busy GPUs draw 80 % of TDP or their cap.</p>
<div class="wide"><table class="power">
<tr><th>scenario</th><th></th><th>ID</th><th>peak IT, kW</th><th>envelope or cap, kW</th><th>peak / limit, %</th><th>nameplate, kW</th><th>static, kW</th></tr>
{{range .Power}}<tr{{if eq .Scenario $.Baseline}} class="base"{{end}}><th>{{.Scenario}}</th><td>{{.Kind}}</td><td>{{.ID}}</td><td class="num" data-key="{{.Kind}}.{{.ID}}.max_it_kw" data-value="{{exact .PeakExact}}">{{.Peak}}</td><td class="num" data-value="{{exact .LimitExact}}">{{.Limit}}</td><td class="num">{{.Ratio}}</td><td class="num">{{.Plate}}</td><td class="num">{{.Static}}</td></tr>
{{end}}</table></div>
{{range .RackNotes}}<p class="meta">{{.}}</p>
{{end}}{{end}}
<h2>Charts</h2>
{{range .Charts}}{{.}}{{end}}
</body>
</html>
`))
