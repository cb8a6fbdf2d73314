// Command chart draws docs/benchmarks.png from the results.json that
// tests/bench's TestBench writes: one panel per group of cases (each push
// size, each restore), a horizontal bar per case at its median wall time,
// whiskers from the fastest to the slowest run, pgarchive's cases in colour
// and the alternatives in grey.
//
//	go run . results.json benchmarks.png
//
// It is its own module so that the plotting library stays out of
// pgarchive's go.mod and the flake's vendorHash.
package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

type sample struct{ Wall float64 }

type result struct {
	Group, Case, Kind string
	Bytes             int64
	Samples           []sample
}

type report struct {
	Rounds  int
	Results []result
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// errs draws a whisker from lo to hi on each bar.
type errs struct {
	lo, hi []float64
}

func (e errs) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	sty := draw.LineStyle{Color: color.Black, Width: vg.Points(1)}
	for i := range e.lo {
		y := ty(float64(i))
		x0, x1 := tx(e.lo[i]), tx(e.hi[i])
		c.StrokeLine2(sty, x0, y, x1, y)
		c.StrokeLine2(sty, x0, y-vg.Points(3), x0, y+vg.Points(3))
		c.StrokeLine2(sty, x1, y-vg.Points(3), x1, y+vg.Points(3))
	}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: chart results.json out.png")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "chart: error:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	var groups []string
	byGroup := map[string][]result{}
	for _, r := range rep.Results {
		if _, ok := byGroup[r.Group]; !ok {
			groups = append(groups, r.Group)
		}
		byGroup[r.Group] = append(byGroup[r.Group], r)
	}
	var plots []*plot.Plot
	var heights []float64
	for _, g := range groups {
		rs := byGroup[g]
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s — median wall time (whiskers: fastest–slowest of %d runs); blue: pgarchive, grey: what users run instead", g, rep.Rounds)
		p.Title.TextStyle.Font.Size = 13
		p.X.Min = 0
		p.X.Label.Text = "seconds (shorter is better)"
		p.Y.Tick.Label.Font.Size = 11
		labels := make([]string, len(rs))
		// Bars bottom to top: reverse, so the table's first case is on top.
		var e errs
		mine, others := make(plotter.Values, len(rs)), make(plotter.Values, len(rs))
		for i := range rs {
			r := rs[len(rs)-1-i]
			var walls []float64
			for _, s := range r.Samples {
				walls = append(walls, s.Wall)
			}
			m := median(walls)
			sort.Float64s(walls)
			e.lo, e.hi = append(e.lo, walls[0]), append(e.hi, walls[len(walls)-1])
			rate := float64(r.Bytes) / (1 << 20) / m
			labels[i] = fmt.Sprintf("%s  %.1f s · %.0f MiB/s", r.Case, m, rate)
			if strings.HasPrefix(r.Case, "pgarchive") {
				mine[i] = m
			} else {
				others[i] = m
			}
		}
		for _, v := range []struct {
			vals plotter.Values
			col  color.Color
		}{{others, color.RGBA{150, 150, 150, 255}}, {mine, color.RGBA{31, 119, 180, 255}}} {
			bars, err := plotter.NewBarChart(v.vals, vg.Points(14))
			if err != nil {
				return err
			}
			bars.Horizontal = true
			bars.Color = v.col
			bars.LineStyle.Width = 0
			p.Add(bars)
		}
		var most float64
		for _, h := range e.hi {
			most = max(most, h)
		}
		p.X.Max = most * 1.05
		p.Add(e, plotter.NewGrid())
		p.NominalY(labels...)
		plots = append(plots, p)
		heights = append(heights, float64(len(rs)))
	}
	const width = 30 * vg.Centimeter
	var total float64
	for _, h := range heights {
		total += h*0.75 + 2.2
	}
	img := vgimg.New(width, vg.Length(total)*vg.Centimeter)
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	top := dc.Max.Y
	for i, p := range plots {
		h := vg.Length(heights[i]*0.75+2.2) * vg.Centimeter
		pad := vg.Points(8)
		c := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: dc.Min.X + pad, Y: top - h + pad/2}, Max: vg.Point{X: dc.Max.X - pad, Y: top - pad/2}}}
		p.Draw(c)
		top -= h
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
