package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-status/herald/store/pgtest"
)

// startNginx runs nginx in front of the replicas, caching the public pages
// as the README's snippet does. Without nginx the test skips, unless
// HERALD_REQUIRE_NGINX=1 (CI) makes that a failure.
func startNginx(t *testing.T, upstreams ...string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("HERALD_REQUIRE_NGINX") == "1" {
			t.Fatal("nginx is required (HERALD_REQUIRE_NGINX=1) but not installed")
		}
		t.Skip("nginx not installed: the CDN test is skipped (apt-get install nginx-light)")
	}
	dir := t.TempDir()
	port := freePort(t)
	var servers strings.Builder
	for _, u := range upstreams {
		fmt.Fprintf(&servers, "server %s max_fails=0;\n", strings.TrimPrefix(u, "http://"))
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
    proxy_cache_path %[1]s/cache keys_zone=herald:1m inactive=1d;
    upstream herald { %[2]s }
    server {
        listen 127.0.0.1:%[3]d;
        location / {
            proxy_pass http://herald;
            proxy_cache herald;
            proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
            proxy_cache_background_update on;
            proxy_cache_lock on;
            proxy_connect_timeout 1s;
            add_header X-Cache-Status $upstream_cache_status always;
        }
    }
}
`, dir, servers.String(), port)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	eventually(t, "nginx to start", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return base
}

// get fetches through nginx and says what its cache did.
func get(t *testing.T, url string) (status int, cache, body string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Cache-Status"), string(b)
}

// With nginx's proxy_cache in front of two replicas, the crowd is served
// from the cache, and when both replicas are down nginx still serves the
// last page: Herald's headers let it.
func TestNginxServesTheLastPageWhenEveryReplicaIsDown(t *testing.T) {
	t.Parallel()
	database := pgtest.Start(t).NewDatabase(t)
	a, b, token := twoReplicas(t, database, "--cdn-max-age", "1s")
	front := startNginx(t, a.url, b.url)
	api(t, a.url, token, "POST", "/api/v1/incidents", map[string]any{"name": "Logins failing", "body": "We are looking into it."}, nil)
	var last string
	eventually(t, "the page through nginx to show the incident, from the cache", func() bool {
		status, cache, body := get(t, front+"/")
		last = body
		return status == http.StatusOK && cache == "HIT" && strings.Contains(body, "Logins failing")
	})
	a.stop(t)
	b.stop(t)
	for _, r := range []*replica{a, b} {
		if resp, err := http.Get(r.url + "/"); err == nil {
			resp.Body.Close()
			t.Fatalf("%s still answers after it was stopped", r.name)
		}
	}
	eventually(t, "nginx to serve its stale copy (the fresh one has expired)", func() bool {
		status, cache, body := get(t, front+"/")
		if status != http.StatusOK {
			t.Fatalf("with both replicas down nginx answered %d (cache %s)", status, cache)
		}
		if body != last {
			t.Fatal("with both replicas down nginx served something else than the last page")
		}
		return cache == "STALE"
	})
}
