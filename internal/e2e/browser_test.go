package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser starts a headless Chromium (CARNOT_TEST_CHROMIUM) that asks
// nothing of the network on its own (chromedp's defaults turn off
// background networking, sync and the like; QUIC and component updates
// are off too), so that every request the test sees is the page's.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := os.Getenv("CARNOT_TEST_CHROMIUM")
	if exe == "" {
		t.Skip("CARNOT_TEST_CHROMIUM is not set (.ci/run installs Debian's chromium and sets it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	return bctx
}

// rendered is what pageCheck measures of a page in the browser.
type rendered struct {
	SVGs     int      `json:"svgs"`
	Labels   []string `json:"labels"`   // each chart's aria-label
	Clipped  []string `json:"clipped"`  // text drawn outside its chart (hidden)
	Overlaps []string `json:"overlaps"` // two texts of a chart drawn over each other
	OverBars []string `json:"overbars"` // text drawn over a bar
	Small    []string `json:"small"`    // charts drawn smaller than 100×60 px
	Width    int      `json:"width"`    // the page's width as laid out, px
	View     int      `json:"view"`     // the window's
}

// pageCheck measures, in the page as the browser laid it out, the glyphs
// of every chart's text against the chart's box and against the glyphs
// of the chart's other text. An inline SVG hides what falls outside it,
// so a label cut off there is lost to the reader without any error.
const pageCheck = `(() => {
  const out = {svgs: 0, labels: [], clipped: [], overlaps: [], overbars: [], small: [],
               width: document.documentElement.scrollWidth, view: window.innerWidth};
  const fmt = (b) => Math.round(b.l) + ',' + Math.round(b.t) + ' to ' + Math.round(b.r) + ',' + Math.round(b.b);
  // Each glyph's box on the screen: the box of a whole text turned by a
  // transform (slanted labels) covers much empty space; its glyphs' do not.
  const glyphs = (t) => {
    const m = t.getScreenCTM(), s = t.textContent, out = [];
    for (let i = 0; i < t.getNumberOfChars(); i++) {
      if (s[i] === ' ') continue;
      const e = t.getExtentOfChar(i);
      const ps = [[e.x, e.y], [e.x + e.width, e.y], [e.x, e.y + e.height], [e.x + e.width, e.y + e.height]]
        .map(([x, y]) => new DOMPoint(x, y).matrixTransform(m));
      out.push({l: Math.min(...ps.map(p => p.x)), r: Math.max(...ps.map(p => p.x)),
                t: Math.min(...ps.map(p => p.y)), b: Math.max(...ps.map(p => p.y))});
    }
    return out;
  };
  const meet = (a, c) => Math.min(a.r, c.r) - Math.max(a.l, c.l) > 2 && Math.min(a.b, c.b) - Math.max(a.t, c.t) > 2;
  for (const svg of document.querySelectorAll('svg')) {
    out.svgs++;
    const name = svg.getAttribute('aria-label') || ('svg ' + out.svgs);
    out.labels.push(name);
    const cr = svg.getBoundingClientRect();
    const r = {l: cr.left, r: cr.right, t: cr.top, b: cr.bottom};
    if (cr.width < 100 || cr.height < 60) out.small.push(name + ': ' + fmt(r));
    const texts = [];
    for (const t of svg.querySelectorAll('text')) {
      const s = t.textContent.trim();
      if (!s) continue;
      const gs = glyphs(t);
      texts.push({s, gs});
      for (const g of gs) {
        if (g.l < r.l - 1 || g.r > r.r + 1 || g.t < r.t - 1 || g.b > r.b + 1) {
          out.clipped.push(name + ': "' + s + '" has a glyph at ' + fmt(g) + ', the chart is ' + fmt(r));
          break;
        }
      }
    }
    const bars = [...svg.querySelectorAll('rect.bar')].map(b => {
      const q = b.getBoundingClientRect();
      return {l: q.left, r: q.right, t: q.top, b: q.bottom};
    });
    for (const x of texts) {
      if (x.gs.some(g => bars.some(b => meet(g, b)))) out.overbars.push(name + ': "' + x.s + '"');
    }
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
      if (texts[i].gs.some(a => texts[j].gs.some(c => meet(a, c))))
        out.overlaps.push(name + ': "' + texts[i].s + '" and "' + texts[j].s + '"');
    }
  }
  return out;
})()`

// The twin's and the planner's pages, opened from disk in a real
// browser: they ask for nothing over the network, throw nothing, and
// every chart is drawn with its text inside it and not over other text.
func TestReportsInABrowser(t *testing.T) {
	bctx := browser(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"sim", "--out", filepath.Join(dir, "sim")},
		{"plan", filepath.Join("..", "..", "examples", "plan", "pools.yaml"), "--out", filepath.Join(dir, "plan")}, // eight scenarios, long names
	} {
		if out, err := exec.Command(carnotBin, args...).CombinedOutput(); err != nil {
			t.Fatalf("carnot %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	var mu sync.Mutex
	var requests, errs []string
	err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if u := e.Request.URL; !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
				requests = append(requests, u)
			}
		case *runtime.EventExceptionThrown:
			errs = append(errs, e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				errs = append(errs, "console error")
			}
		}
	})
	if err != nil {
		t.Fatalf("starting the browser: %v", err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, runtime.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	// A control page, so that a check that finds nothing is known to look:
	// a label past the chart's right edge, one slanted past its top, two
	// drawn over each other, one over a bar, and an image asked of the
	// network.
	control := filepath.Join(dir, "control.html")
	if err := os.WriteFile(control, []byte(`<!doctype html><meta charset="utf-8"><title>control</title>
<svg width="300" height="100" viewBox="0 0 300 100" aria-label="control"><text x="280" y="50">cut off</text>
<text x="10" y="80">over</text><text x="14" y="82">lap</text><text x="10" y="20" transform="rotate(-35 10 20)">slanted</text>
<rect class="bar" x="150" y="30" width="40" height="70"/><text x="155" y="60">on a bar</text></svg>
<img src="http://127.0.0.1:9/pixel.png" alt="">`), 0o644); err != nil {
		t.Fatal(err)
	}
	// Each page in a desktop's window, then in a narrow one (a phone, a
	// side panel), where a chart must shrink, not widen the page.
	sim, plan := filepath.Join(dir, "sim", "report.html"), filepath.Join(dir, "plan", "plan.html")
	for _, page := range []struct {
		file  string
		min   int
		width int64
	}{
		{control, 1, 1280},
		{sim, 7, 1280},
		{plan, 10, 1280},
		{sim, 7, 600},
		{plan, 10, 600},
	} {
		ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
		err := chromedp.Do(ctx, chromedp.EmulateViewport(page.width, 900), chromedp.Navigate("file://"+page.file), chromedp.WaitReady("body"))
		var raw []byte
		if err == nil {
			raw, err = chromedp.Run(ctx, chromedp.Evaluate[[]byte](pageCheck))
		}
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", page.file, err)
		}
		var r rendered
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("%s: %v (%s)", page.file, err, raw)
		}
		name := fmt.Sprintf("%s at %d px", filepath.Base(page.file), page.width)
		if page.file == control {
			if len(r.Clipped) != 2 || !strings.Contains(r.Clipped[0], `"cut off"`) || !strings.Contains(r.Clipped[1], `"slanted"`) ||
				len(r.Overlaps) != 1 || !strings.Contains(r.Overlaps[0], `"over" and "lap"`) ||
				len(r.OverBars) != 1 || !strings.Contains(r.OverBars[0], `"on a bar"`) {
				hint := ""
				if len(r.Clipped)+len(r.Overlaps)+len(r.OverBars) == 0 {
					hint = " (no glyphs drawn: has the machine no font? .ci/run installs fonts-dejavu-core)"
				}
				t.Fatalf("the control page: clipped %q, overlaps %q, over bars %q; want cut off and slanted, over and lap, on a bar%s", r.Clipped, r.Overlaps, r.OverBars, hint)
			}
			mu.Lock()
			if !slices.Contains(requests, "http://127.0.0.1:9/pixel.png") {
				t.Fatalf("the control page's image was not seen asked for: %q", requests)
			}
			requests = nil
			mu.Unlock()
			continue
		}
		t.Logf("%s: %d charts: %s", name, r.SVGs, strings.Join(r.Labels, "; "))
		if r.Width > r.View {
			t.Errorf("%s: the page is %d px wide in a %d px window: it scrolls sideways", name, r.Width, r.View)
		}
		if r.SVGs < page.min {
			t.Errorf("%s: %d charts drawn, want at least %d", name, r.SVGs, page.min)
		}
		for _, what := range []struct {
			kind string
			list []string
		}{{"text outside its chart", r.Clipped}, {"texts over each other", r.Overlaps}, {"text over a bar", r.OverBars}, {"chart too small", r.Small}} {
			for _, s := range what.list {
				t.Errorf("%s: %s: %s", name, what.kind, s)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requests) > 0 {
		t.Errorf("the pages asked the network for %q; they must open offline", requests)
	}
	if len(errs) > 0 {
		t.Errorf("the pages threw or logged errors: %q", errs)
	}
}
