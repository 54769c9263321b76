package report

import "html/template"

// ChartCSS styles the SVG charts of this package (the classes LineChart,
// CDFChart and BarChart draw with); a page that shows them puts it in its
// <style>.
const ChartCSS = `svg.chart { display: block; margin: 14px 0; background: #fff; max-width: 100%; height: auto; }
svg .title { font-size: 13px; font-weight: 600; fill: #222; }
svg .tick { font-size: 11px; fill: #555; }
svg .label { font-size: 12px; fill: #333; }
svg .grid { stroke: #e6e6e6; }
svg .axis { stroke: #888; }
svg .rule { stroke: #000; stroke-dasharray: 6 4; }
svg .band { opacity: 0.5; }
svg .line, svg .key { fill: none; stroke-width: 1.6; }
svg .dash { stroke-dasharray: 5 3; }
`

// The page is written so that it is also well-formed XML (every element
// closed), which the tests check without an HTML parser.
var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"value": value, "exact": exact, "human": human,
	"pct": func(x float64) string { return value(100 * x) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{{.Title}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 980px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
p.meta, p.note { color: #555; }
table { border-collapse: collapse; margin: 8px 0; }
div.wide { overflow-x: auto; } /* a table wider than the page scrolls, not the page */
th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.tenants th:first-child { white-space: nowrap; }
` + ChartCSS + `</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">{{with .Facility}}Facility {{.}}; {{end}}virtual time {{.Start}} to {{.End}}. Every figure is computed by
<code>carnot sim</code> from this run alone; definitions are in docs/twin.md (section "summary.json").</p>

<h2>Headline</h2>
<div class="wide"><table class="headline">
<tr><th>metric</th><th>value</th><th>unit</th></tr>
{{range .Headline}}<tr><th>{{.Label}}</th><td class="num" data-key="{{.Key}}" data-value="{{exact .Value}}">{{value .Value}}</td><td>{{.Unit}}{{if eq .Unit "s"}} {{human .Value}}{{end}}</td></tr>
{{end}}</table></div>
{{with .Notes}}<p class="note">Left out before the run, and why:</p>
<ul class="notes">{{range .}}<li>{{.}}</li>
{{end}}</ul>
{{end}}
<h2>Tenants</h2>
<div class="wide"><table class="tenants">
<tr><th>tenant</th><th>jobs</th><th>finished</th><th>wait mean, s</th><th>wait p95, s</th><th>GPU-h</th><th>weight</th><th>entitlement, %</th><th>share, %</th><th>share / entitlement</th><th>facility MWh</th><th>EUR</th><th>tCO2e</th></tr>
{{range .Tenants}}<tr><th>{{.Name}}</th><td class="num">{{.Jobs}}</td><td class="num">{{.Finished}}</td><td class="num">{{value .Wait.Mean}}</td><td class="num">{{value .Wait.P95}}</td><td class="num">{{value .GPUHours}}</td><td class="num">{{value .Weight}}</td><td class="num">{{pct .Entitlement}}</td><td class="num">{{pct .Share}}</td><td class="num">{{value .ShareRatio}}</td><td class="num">{{value .FacilityMWh}}</td><td class="num">{{value .CostEUR}}</td><td class="num">{{value .CarbonT}}</td></tr>
{{end}}</table></div>

<h2>Sites</h2>
<div class="wide"><table class="sites">
<tr><th>site</th><th>envelope, kW</th><th>static, kW</th><th>peak IT, kW</th><th>IT MWh</th><th>facility MWh</th><th>EUR</th><th>tCO2e</th></tr>
{{range .Sites}}<tr><th>{{.ID}}</th><td class="num">{{value .EnvelopeKW}}</td><td class="num">{{value .StaticKW}}</td><td class="num">{{value .MaxITkW}}</td><td class="num">{{value .All.ITMWh}}</td><td class="num">{{value .All.FacilityMWh}}</td><td class="num">{{value .All.CostEUR}}</td><td class="num">{{value .All.CarbonT}}</td></tr>
{{end}}</table></div>
{{if .Halls}}
<h2>Halls</h2>
<div class="wide"><table class="halls">
<tr><th>hall</th><th>site</th><th>power cap, kW</th><th>static, kW</th><th>peak IT, kW</th></tr>
{{range .Halls}}<tr><th>{{.ID}}</th><td>{{.Site}}</td><td class="num">{{if gt .CapKW 0.0}}{{value .CapKW}}{{else}}none{{end}}</td><td class="num">{{value .StaticKW}}</td><td class="num">{{value .MaxITkW}}</td></tr>
{{end}}</table></div>
{{end}}{{if .Racks}}
<h2>Racks with a power cap</h2>
{{if gt .RacksCapped (len .Racks)}}<p class="note">The {{len .Racks}} of {{.RacksCapped}} racks closest to their cap, by peak / cap; summary.json's racks lists them all.</p>
{{end}}<div class="wide"><table class="racks">
<tr><th>rack</th><th>hall</th><th>site</th><th>power cap, kW</th><th>static, kW</th><th>peak IT, kW</th></tr>
{{range .Racks}}<tr><th>{{.ID}}</th><td>{{.Hall}}</td><td>{{.Site}}</td><td class="num">{{value .CapKW}}</td><td class="num">{{value .StaticKW}}</td><td class="num">{{value .MaxITkW}}</td></tr>
{{end}}</table></div>
{{end}}
<h2>Charts</h2>
{{range .Figures}}{{if .Note}}<p class="note">{{.Note}}</p>
{{else}}{{.SVG}}{{end}}{{end}}
</body>
</html>
`))
