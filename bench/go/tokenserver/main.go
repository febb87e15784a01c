// Command tokenserver is the benchmark's loopback OAuth 2.0 token endpoint.
//
// It answers client_credentials POSTs on any path ending in /token after a delay,
// with a fixed expires_in, and counts them. Path segments tune one request
// (so that one server serves every run, and the @corti/sdk's Keycloak-shaped
// URLs fit too):
//
//	/exp/3/delay/20/token                 expires_in 3 s, answered after 20 ms
//	/exp/300/delay/0/close/realms/base/protocol/openid-connect/token
//	                                      ... and "Connection: close" (a fresh connection each time)
//
// GET /count returns the number of token requests answered since start or the
// last POST /reset. The port is random; the first line printed on stdout is the
// base URL (http://127.0.0.1:PORT). Flags give the defaults.
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

var (
	count     atomic.Int64
	defExp    = flag.Int("expires-in", 300, "default expires_in (s)")
	defDelay  = flag.Int("delay-ms", 20, "default delay before answering (ms)")
	maxLife   = flag.Duration("max-life", 30*time.Minute, "exit after this long (bounded by design)")
	clientID  = flag.String("client-id", "bench", "accepted client_id")
	secret    = flag.String("client-secret", "bench-secret", "accepted client_secret")
	tokenBody = "x"
)

func tokenHandler(w http.ResponseWriter, r *http.Request) {
	exp, delay, closeConn := *defExp, *defDelay, false
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	for i := 0; i < len(segs); i++ {
		switch segs[i] {
		case "exp", "delay":
			if i+1 < len(segs) {
				if v, err := strconv.Atoi(segs[i+1]); err == nil {
					if segs[i] == "exp" {
						exp = v
					} else {
						delay = v
					}
					i++
				}
			}
		case "close":
			closeConn = true
		}
	}
	if r.Method != http.MethodPost {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"unsupported_grant_type"}`))
		return
	}
	id, sec, ok := r.BasicAuth()
	if !ok {
		id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != *clientID || sec != *secret {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	n := count.Add(1)
	if delay > 0 {
		time.Sleep(time.Duration(delay) * time.Millisecond)
	}
	// A JWT-shaped token of Keycloak's size (~1 KiB), unique per request.
	payload := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(
		`{"sub":"bench","n":%d,"iat":%d,"pad":"%s"}`, n, time.Now().Unix(), tokenBody)))
	body, _ := json.Marshal(map[string]any{
		"access_token": "eyJhbGciOiJSUzI1NiJ9." + payload + ".c2lnbmF0dXJl",
		"token_type":   "Bearer",
		"expires_in":   exp,
		"scope":        "openid",
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if closeConn {
		w.Header().Set("Connection", "close")
	}
	_, _ = w.Write(body)
}

func main() {
	flag.Parse()
	tokenBody = strings.Repeat("x", 600)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%d\n", count.Load())
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		count.Store(0)
		fmt.Fprintln(w, "0")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			tokenHandler(w, r)
			return
		}
		http.NotFound(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	os.Stdout.Sync()
	go func() {
		time.Sleep(*maxLife)
		log.Printf("tokenserver: %s elapsed, exiting", *maxLife)
		os.Exit(0)
	}()
	log.Fatal(http.Serve(ln, mux))
}
