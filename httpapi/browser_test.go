package httpapi

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium returns Debian's chromium, or skips the test without it
// (fails it with CI=true).
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (Debian package chromium; make test installs it)")
		}
		t.Skip("chromium is not installed (Debian package chromium)")
	}
	return path
}

// TestRegistrarPagesInChromium: a registrar's staff, in a real browser,
// log in with the token, find the failing domain in the list (and not
// another registrar's), open it, read the finding with its article, and
// ask for a re-check; an operator opens the status page with the token.
func TestRegistrarPagesInChromium(t *testing.T) {
	f := newFixture(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.UserDataDir(t.TempDir()),
		// Loopback only: no name is resolved, so the browser reaches no
		// service of its own off this machine.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTime()

	var list, state, findings, flash, title string
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	read := func(into *string, a chromedp.Action[string]) {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		step("reading the page", err)
		*into = v
	}
	step("logging in", chromedp.Do(ctx,
		chromedp.Navigate(f.srv.URL+"/registrar/domains?lang=pt"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), tokenA),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("domains"))))
	read(&list, chromedp.Text(chromedp.ID("domains")))
	step("opening the failing domain", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href="/registrar/domains/falha.pt"]`)),
		chromedp.WaitVisible(chromedp.ID("findings"))))
	read(&title, chromedp.Title())
	read(&state, chromedp.Text(chromedp.ID("state")))
	read(&findings, chromedp.Text(chromedp.ID("findings")))
	step("asking for a re-check", chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("recheck")),
		chromedp.WaitVisible(chromedp.CSS(".notice"))))
	read(&flash, chromedp.Text(chromedp.CSS(".notice")))
	if !strings.Contains(list, "falha.pt") || !strings.Contains(list, "em falha") || strings.Contains(list, "alheio.pt") {
		t.Errorf("the list as shown:\n%s", list)
	}
	if !strings.HasPrefix(title, "falha.pt") || state != "em falha" {
		t.Errorf("the domain page: title %q, state %q", title, state)
	}
	for _, want := range []string{"ERRO", "REFUSED", "recusa responder", "Art 4.2", "Correção"} {
		if !strings.Contains(findings, want) {
			t.Errorf("the findings as shown lack %q:\n%s", want, findings)
		}
	}
	if !strings.Contains(flash, "Verificação pedida") {
		t.Errorf("after the re-check: %q", flash)
	}

	// An operator's status page: the browser sends the token as the
	// password of basic authentication (here from the address, as it
	// would once asked).
	ops := operatorServer(t, sampleStatus())
	u, err := url.Parse(ops.URL + "/operator/?lang=en")
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("ana", operatorToken_)
	var served, frozen string
	step("opening the operators' status page", chromedp.Do(ctx,
		chromedp.Navigate(u.String()),
		chromedp.WaitVisible(chromedp.CSS(`section[id="zone-com.pt"]`))))
	read(&served, chromedp.Text(chromedp.CSS(`section[id="zone-com.pt"] .served`)))
	read(&frozen, chromedp.Text(chromedp.CSS(`section[id="zone-com.pt"] .frozen`)))
	if served != "1796100777" || !strings.Contains(frozen, "frozen by rui") {
		t.Errorf("com.pt on the status page: served %q, frozen %q", served, frozen)
	}
}
