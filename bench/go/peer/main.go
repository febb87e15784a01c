// Command peer is the Go side of the side-by-side benchmark (bench/run.sh):
// golang.org/x/oauth2/clientcredentials and a bare net/http POST against the
// benchmark's loopback token endpoint. One JSON object per figure on stdout.
//
//	peer BASE_URL [all|rss]
//
// Environment: BENCH_QUICK=1, BENCH_TAIL_S (15), BENCH_ROUNDS (5).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const lang = "go"
const imp = "x/oauth2"

var base string

func quick() bool { return os.Getenv("BENCH_QUICK") == "1" }

func envNum(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

func emit(impl, metric string, value float64, extra string) {
	b, _ := json.Marshal(map[string]any{"lang": lang, "impl": impl, "metric": metric, "value": value, "extra": extra})
	fmt.Println(string(b))
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func count() int64 {
	r, err := http.Get(base + "/count")
	if err != nil {
		panic(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

func config(path string) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID:     "bench",
		ClientSecret: "bench-secret",
		TokenURL:     base + path,
		Scopes:       []string{"openid"},
		AuthStyle:    oauth2.AuthStyleInParams, // client_secret_post, as cortiauth
	}
}

// source is the documented way to share a token: Config.TokenSource (a
// ReuseTokenSource refreshing 10 s before expiry). For 3 s tokens that 10 s would
// make every call a token request, so refreshAhead wraps it in a
// ReuseTokenSourceWithExpiry with cortiauth's margin (20 % of the lifetime).
func source(path string, refreshAhead time.Duration) oauth2.TokenSource {
	ts := config(path).TokenSource(context.Background())
	if refreshAhead > 0 {
		return oauth2.ReuseTokenSourceWithExpiry(nil, ts, refreshAhead)
	}
	return ts
}

func cached(rounds int) {
	ts := source("/exp/300/delay/20/token", 0)
	if _, err := ts.Token(); err != nil {
		panic(err)
	}
	n := 2_000_000
	if quick() {
		n = 200_000
	}
	var samples []float64
	for r := 0; r < rounds; r++ {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			if _, err := ts.Token(); err != nil {
				panic(err)
			}
		}
		samples = append(samples, float64(time.Since(t0).Nanoseconds())/float64(n))
	}
	emit(imp, "cached_ns", median(samples), "TokenSource.Token()")
}

func burst(rounds int) {
	var walls []float64
	maxReq := 0.0
	for r := 0; r < rounds; r++ {
		ts := source("/exp/300/delay/20/token", 0)
		before := count()
		var start, wg sync.WaitGroup
		start.Add(1)
		done := make([]time.Time, 64)
		for i := 0; i < 64; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				start.Wait()
				if _, err := ts.Token(); err != nil {
					panic(err)
				}
				done[i] = time.Now()
			}(i)
		}
		time.Sleep(5 * time.Millisecond) // let the goroutines park on the start signal
		t0 := time.Now()
		start.Done()
		wg.Wait()
		last := t0
		for _, d := range done {
			if d.After(last) {
				last = d
			}
		}
		walls = append(walls, float64(last.Sub(t0).Microseconds())/1e3)
		maxReq = math.Max(maxReq, float64(count()-before))
	}
	emit(imp, "burst_ms", median(walls), "64 goroutines")
	emit(imp, "burst_requests", maxReq, "")
}

// lat: a power-of-two histogram of every call plus the exact values over 10 µs.
type lat struct {
	calls int64
	hist  [65]int64
	large []int64
}

func (l *lat) add(ns int64) {
	l.calls++
	b := 0
	for v := ns; v > 0; v >>= 1 {
		b++
	}
	l.hist[b]++
	if ns > 10_000 {
		l.large = append(l.large, ns)
	}
}

func (l *lat) summary() (slow, slow20 int64, p999ms float64) {
	sort.Slice(l.large, func(i, j int) bool { return l.large[i] < l.large[j] })
	for _, v := range l.large {
		if v > 1_000_000 {
			slow++
		}
		if v >= 15_000_000 {
			slow20++
		}
	}
	k := int64(math.Ceil(float64(l.calls) * 0.001))
	if k > 0 && int64(len(l.large)) >= k {
		return slow, slow20, float64(l.large[int64(len(l.large))-k]) / 1e6
	}
	rank, seen := l.calls-k, int64(0)
	for i, c := range l.hist {
		seen += c
		if seen > rank {
			return slow, slow20, math.Pow(2, float64(i)) / 1e6
		}
	}
	return slow, slow20, 0
}

func tail() {
	secs := envNum("BENCH_TAIL_S", 15)
	if quick() && os.Getenv("BENCH_TAIL_S") == "" {
		secs = 4
	}
	ts := source("/exp/3/delay/20/token", 600*time.Millisecond)
	if _, err := ts.Token(); err != nil {
		panic(err)
	}
	before := count()
	end := time.Now().Add(time.Duration(secs * float64(time.Second)))
	results := make([]*lat, 4)
	var wg sync.WaitGroup
	for i := range results {
		results[i] = &lat{}
		wg.Add(1)
		go func(l *lat) {
			defer wg.Done()
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				if _, err := ts.Token(); err != nil {
					panic(err)
				}
				l.add(time.Since(t0).Nanoseconds())
				time.Sleep(100 * time.Microsecond) // callers do other work between calls
			}
		}(results[i])
	}
	wg.Wait()
	requests := count() - before
	all := &lat{}
	for _, l := range results {
		all.calls += l.calls
		for i, c := range l.hist {
			all.hist[i] += c
		}
		all.large = append(all.large, l.large...)
	}
	slow, slow20, p999 := all.summary()
	extra := fmt.Sprintf("%d calls, %.0f lifetimes; GOMAXPROCS default", all.calls, secs/3)
	emit(imp, "tail_slow", float64(slow), extra)
	emit(imp, "tail_slow20", float64(slow20), extra)
	emit(imp, "tail_p999_ms", p999, extra)
	emit(imp, "tail_requests", float64(requests), extra)
}

func barePost(u string) string {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"},
		"client_id": {"bench"}, "client_secret": {"bench-secret"}}
	r, err := http.PostForm(u, form)
	if err != nil {
		panic(err)
	}
	defer r.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.AccessToken == "" {
		panic(fmt.Sprint("bad token response: ", err))
	}
	return body.AccessToken
}

func cold(rounds int) {
	path := "/exp/300/delay/0/close/token"
	n := 30
	if quick() {
		n = 10
	}
	if n < rounds {
		n = rounds
	}
	barePost(base + path) // warm-up
	if _, err := source(path, 0).Token(); err != nil {
		panic(err)
	}
	var build, first, bare []float64
	for i := 0; i < n; i++ {
		t0 := time.Now()
		ts := source(path, 0)
		build = append(build, float64(time.Since(t0).Nanoseconds())/1e3)
		_ = ts
	}
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := source(path, 0).Token(); err != nil {
			panic(err)
		}
		first = append(first, float64(time.Since(t0).Nanoseconds())/1e6)
		t0 = time.Now()
		barePost(base + path)
		bare = append(bare, float64(time.Since(t0).Nanoseconds())/1e6)
	}
	emit(imp, "build_us", median(build), "Config.TokenSource")
	emit(imp, "first_token_ms", median(first), "new TokenSource + Token()")
	emit("bare net/http", "first_token_ms", median(bare), "http.PostForm")
}

func rssKiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			v, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return v
		}
	}
	panic("no VmRSS")
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peer BASE_URL [all|rss]")
		os.Exit(2)
	}
	base = strings.TrimRight(os.Args[1], "/")
	mode := "all"
	if len(os.Args) > 2 {
		mode = os.Args[2]
	}
	if mode == "rss" {
		before := rssKiB()
		if _, err := source("/exp/300/delay/0/token", 0).Token(); err != nil {
			panic(err)
		}
		emit(imp, "rss_kib", rssKiB()-before, "TokenSource + first token")
		return
	}
	rounds := int(envNum("BENCH_ROUNDS", 5))
	if quick() && os.Getenv("BENCH_ROUNDS") == "" {
		rounds = 3
	}
	cached(rounds)
	burst(rounds)
	cold(rounds)
	tail()
}
